import { jobIdIn } from '../../shared/ids.js';
import type { Logger } from '../../shared/logger.js';
import type { StatusStore } from '../../shared/status-store.js';
import type { CompletionPublisher } from './completion-publisher.js';
import type { JobMetrics } from './metrics.js';
import { deadLetterAttributes } from './messages.js';
import type { Delivery, Publisher, Verdict } from './ports.js';
import { isTerminal, toFailed } from './transitions.js';

interface Deps {
  log: Logger;
  statuses: StatusStore;
  completions: CompletionPublisher;
  deadLetters: Publisher;
  metrics: JobMetrics;
}

/**
 * A message that is not a JobMessage can never succeed, and nacking it would loop until the
 * subscription's attempts run out. So it is published to the dead-letter topic at once (kept
 * for an operator, with the reason) and acked. If it still names a job whose status document
 * exists, that job is marked failed so it does not stay `queued` forever.
 */
export async function recordInvalidMessage(deps: Deps, delivery: Delivery, reason: string, now: () => string): Promise<Verdict> {
  const jobId = looseJobId(delivery.data);
  const log = deps.log.child({ messageId: delivery.messageId, ...(jobId ? { jobId } : {}) });
  log.error({ event: 'job.invalid_message', reason }, 'unreadable job message: dead-lettered');
  try {
    await deps.deadLetters.publish({ data: delivery.data, attributes: deadLetterAttributes(delivery, reason) });
    if (jobId) await failNamedJob(deps, jobId, reason, now);
  } catch (err) {
    deps.metrics.jobFinished('retried');
    log.warn({ event: 'job.invalid_message_not_recorded', err }, 'could not dead-letter an unreadable message; Pub/Sub will redeliver');
    return 'nack';
  }
  deps.metrics.jobFinished('invalid');
  return 'ack';
}

async function failNamedJob(deps: Deps, jobId: string, reason: string, now: () => string): Promise<void> {
  const error = { code: 'invalid_message', message: reason.slice(0, 2000), retryable: false };
  const result = await deps.statuses.update(jobId, (s) => (isTerminal(s.state) ? undefined : toFailed(s, error, now())));
  if (result?.changed) await deps.completions.publish(result.stored.doc);
}

function looseJobId(data: Buffer): string | undefined {
  try {
    return jobIdIn(JSON.parse(data.toString('utf8')));
  } catch {
    return undefined;
  }
}
