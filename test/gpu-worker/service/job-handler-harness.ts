/**
 * The job handler over the hand-written fakes, as the job-handler tests build it: the ports a
 * test looks at and the handler made from them. Each test file adds its own helpers around it.
 */
import type { JobStatus } from '../../../schemas/status.js';
import { fromPubSubMessage } from '../../../shared/completion.js';
import type { Logger } from '../../../shared/logger.js';
import type { ImagePipeline } from '../../../gpu-worker/pipeline/contract.js';
import { CompletionPublisher } from '../../../gpu-worker/service/completion-publisher.js';
import { createJobHandler, type DebugHooks } from '../../../gpu-worker/service/job-handler.js';
import { OutputCache, ResultsWriter } from '../../../gpu-worker/service/outputs.js';
import { FakeBlobStore, FakePipeline, FakePublisher, JOB_ID, RESULTS, RecordingMetrics, UPLOADS, fakeStatusStore, silentLogger } from './fakes.js';

export const HANDLER_NOW = new Date('2026-11-23T18:00:01.000Z');

export function jobHandlerOverFakes(options: { log?: Logger; cache?: boolean; hooks?: DebugHooks } = {}) {
  const store = new FakeBlobStore();
  const { store: statuses } = fakeStatusStore();
  const completions = new FakePublisher();
  const deadLetters = new FakePublisher();
  const pipeline = new FakePipeline();
  const metrics = new RecordingMetrics();
  const model: { loaded: ImagePipeline | undefined } = { loaded: pipeline };
  return {
    store,
    statuses,
    completions,
    deadLetters,
    pipeline,
    metrics,
    model,
    handle: createJobHandler({
      log: options.log ?? silentLogger(),
      statusStore: statuses,
      store,
      results: new ResultsWriter(store, RESULTS),
      ...(options.cache === false ? {} : { cache: new OutputCache(store, RESULTS) }),
      pipeline: () => model.loaded,
      completions: new CompletionPublisher(completions, '//petcutout/test-worker'),
      deadLetters,
      metrics,
      maxDeliveryAttempts: 5,
      uploadsBucket: UPLOADS,
      now: () => HANDLER_NOW,
      ...(options.hooks ? { hooks: options.hooks } : {}),
    }),
    async status(jobId = JOB_ID): Promise<JobStatus | undefined> {
      return (await statuses.get(jobId))?.doc;
    },
    events() {
      return completions.messages.map((m) => fromPubSubMessage(m));
    },
  };
}
