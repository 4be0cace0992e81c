import type { JobMessage } from '../../schemas/job.js';
import type { JobStatus } from '../../schemas/status.js';
import { deadLetterAttributes, toFailed } from '../../shared/job/index.js';
import type { Logger } from '../../shared/logger.js';
import { jobError } from '../../shared/messages.js';
import { EVENTS } from '../log-events.js';
import type { StatusStore } from '../../shared/status-store.js';
import type { CompletionPublisher } from './completion-publisher.js';
import type { JobMetrics } from './metrics.js';
import type { Delivery, TopicPublisher, Verdict } from './ports.js';
import { sourceUri } from './source.js';

interface Deps {
  log: Logger;
  statusStore: StatusStore;
  completions: CompletionPublisher;
  deadLetters: TopicPublisher;
  metrics: JobMetrics;
}

/**
 * A message that is not a JobMessage can never succeed, and nacking it would loop until the
 * subscription's attempts run out. The worker owns it, alone (see shared/job): if it names a
 * job that is still running, that job is failed with `invalid_message` (and its completion
 * event sent) so it does not stay `queued` forever. Otherwise (no job named, no document, or
 * a job that already ended) it is published to the dead-letter topic for a person, marked as
 * the worker's so onDeadLetter leaves it alone. Either way it is acked.
 */
export async function recordInvalidMessage(deps: Deps, delivery: Delivery, read: { reason: string; jobId?: string }, now: () => Date): Promise<Verdict> {
  const log = deps.log.child({ messageId: delivery.messageId, ...(read.jobId ? { jobId: read.jobId } : {}) });
  log.error({ event: EVENTS.message.unreadable, reason: read.reason }, 'unreadable job message');
  return record(deps, delivery, read, log, now);
}

/**
 * A readable message whose source is not what ingest wrote (`foreignSource` in source.ts):
 * never read, and recorded like an unreadable message. The job it names is failed only when
 * its own document names that same source (the job itself is bad); a message that borrows
 * a real job's id with another source goes to a person instead, and the job is left alone.
 */
export async function recordForeignSource(deps: Deps, delivery: Delivery, msg: JobMessage, reason: string, now: () => Date): Promise<Verdict> {
  const log = deps.log.child({ messageId: delivery.messageId, jobId: msg.jobId });
  const { bucket, name, generation } = msg.source;
  log.error({ event: EVENTS.message.foreign_source, source: sourceUri(msg.source) }, reason);
  const sameSource = (doc: JobStatus): boolean => doc.source.bucket === bucket && doc.source.name === name && doc.source.generation === generation;
  return record(deps, delivery, { reason, jobId: msg.jobId }, log, now, sameSource);
}

async function record(deps: Deps, delivery: Delivery, read: { reason: string; jobId?: string }, log: Logger, now: () => Date, jobMayFail?: (doc: JobStatus) => boolean): Promise<Verdict> {
  const { reason, jobId } = read;
  let failed: boolean;
  try {
    failed = jobId !== undefined && (await failNamedJob(deps, jobId, reason, now, jobMayFail));
    if (!failed) await deps.deadLetters.publishMessage({ data: delivery.data, attributes: deadLetterAttributes(delivery, reason) });
  } catch (err) {
    deps.metrics.jobFinished('retried');
    log.warn({ event: EVENTS.message.not_recorded, err }, 'could not record an unreadable message; Pub/Sub will redeliver');
    return 'nack';
  }
  if (failed) log.warn({ event: EVENTS.job.failed, code: INVALID_MESSAGE }, 'job failed: its message is unreadable');
  else log.warn({ event: EVENTS.message.dead_lettered }, 'no job can record it: dead-lettered for a person');
  deps.metrics.jobFinished('invalid');
  return 'ack';
}

/**
 * True when the job ended (now, or on an earlier delivery of this message) as failed with
 * `invalid_message`; its event is announced again in case that delivery died before it did.
 */
async function failNamedJob(deps: Deps, jobId: string, reason: string, now: () => Date, jobMayFail: (doc: JobStatus) => boolean = () => true): Promise<boolean> {
  // The shopper reads the sentence for the code; the reason, for support, is the detail.
  const error = jobError(INVALID_MESSAGE, reason, false);
  const result = await deps.statusStore.update(jobId, (s) => (jobMayFail(s) ? toFailed(s, error, now()) : undefined));
  const doc = result?.stored.doc;
  if (doc?.state !== 'failed' || doc.error?.code !== INVALID_MESSAGE) return false;
  await deps.completions.announce(doc);
  return true;
}

const INVALID_MESSAGE = 'invalid_message' as const;
