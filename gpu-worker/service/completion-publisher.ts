import type { JobStatus } from '../../schemas/status.js';
import { completionMessageFor } from '../../shared/job/index.js';
import type { TopicPublisher } from './ports.js';

/**
 * Announces the endings the worker writes, on the completions topic, as the worker's
 * CloudEvents `source`. The event comes from the document alone (shared/job), so announcing
 * again after a crash or a redelivery sends the same event with the same id.
 */
export class CompletionPublisher {
  constructor(
    private readonly topic: TopicPublisher,
    private readonly source: string,
  ) {}

  /** `traceparent`: the job's trace (JobMessage.trace), sent as `ce-traceparent`. Throws for a job still running. */
  announce(status: JobStatus, traceparent?: string): Promise<string> {
    return this.topic.publishMessage(completionMessageFor(this.source, status, traceparent));
  }
}
