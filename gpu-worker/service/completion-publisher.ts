import type { CompletionData } from '../../schemas/completion.js';
import type { JobStatus } from '../../schemas/status.js';
import { buildCompletionEvent, toPubSubMessage } from '../../shared/completion.js';
import type { Publisher } from './ports.js';

/**
 * Publishes the completion event of a terminal status document. Everything in the event
 * comes from the document (time = its last update), so publishing again after a crash or a
 * redelivery sends the same event with the same id, which subscribers deduplicate.
 */
export class CompletionPublisher {
  constructor(
    private readonly topic: Publisher,
    private readonly source: string,
  ) {}

  /** `traceparent`: the job's trace (JobMessage.trace), sent as `ce-traceparent`. */
  async publish(status: JobStatus, traceparent?: string): Promise<string> {
    if (status.state !== 'succeeded' && status.state !== 'failed' && status.state !== 'rejected') {
      throw new Error(`job ${status.jobId} is ${status.state}: only terminal states have a completion event`);
    }
    const data: CompletionData = {
      schemaVersion: status.schemaVersion,
      jobId: status.jobId,
      outcome: status.state,
      source: { bucket: status.source.bucket, name: status.source.name, ...(status.source.generation ? { generation: status.source.generation } : {}) },
      outputsRequested: status.outputsRequested,
      ...(status.outputs ? { outputs: status.outputs } : {}),
      ...(status.error ? { error: status.error } : {}),
      ...(status.model ? { model: status.model } : {}),
      ...(status.clientRef === undefined ? {} : { clientRef: status.clientRef }),
      completedAt: status.updatedAt,
    };
    return this.topic.publish(toPubSubMessage(buildCompletionEvent(this.source, data), traceparent));
  }
}
