import type { CompletionData } from '../../schemas/completion.js';
import type { JobStatus } from '../../schemas/status.js';
import { buildCompletionEvent, toPubSubMessage, type PubSubEventMessage } from '../completion.js';

/**
 * The completion event of a terminal document. Everything in it comes from the document
 * (time = its last update), so publishing again after a crash or a redelivery sends the same
 * event with the same id, which subscribers deduplicate.
 * @example completionDataFor(doc).outcome === doc.state
 */
export function completionDataFor(doc: JobStatus): CompletionData {
  if (doc.state !== 'succeeded' && doc.state !== 'failed' && doc.state !== 'rejected') {
    throw new Error(`job ${doc.jobId} is ${doc.state}: only terminal states have a completion event`);
  }
  return {
    schemaVersion: doc.schemaVersion,
    jobId: doc.jobId,
    outcome: doc.state,
    source: { bucket: doc.source.bucket, name: doc.source.name, ...(doc.source.generation ? { generation: doc.source.generation } : {}) },
    outputsRequested: doc.outputsRequested,
    // Only an ending's outputs: a `failed` document never carries them (toFailed drops a preview).
    ...(doc.outputs && doc.state === 'succeeded' ? { outputs: doc.outputs } : {}),
    ...(doc.error ? { error: doc.error } : {}),
    ...(doc.model ? { model: doc.model } : {}),
    ...(doc.state === 'succeeded' && doc.quality ? { quality: doc.quality } : {}),
    ...(doc.clientRef === undefined ? {} : { clientRef: doc.clientRef }),
    completedAt: doc.updatedAt,
  };
}

/**
 * The Pub/Sub message (CloudEvents binary binding) announcing a terminal document.
 * `source`: the writer's CloudEvents source; `traceparent`: the job's trace, as `ce-traceparent`.
 * @example topic.publishMessage(completionMessageFor('//petcutout/gpu-worker', doc))
 */
export function completionMessageFor(source: string, doc: JobStatus, traceparent?: string): PubSubEventMessage {
  return toPubSubMessage(buildCompletionEvent(source, completionDataFor(doc)), traceparent);
}
