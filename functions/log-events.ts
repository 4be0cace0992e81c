import { logEvents } from '../shared/log-events.js';

/**
 * Every log event the functions write (the scheme: shared/log-events.ts).
 * @example log.info({ event: EVENTS.job.queued }, 'job queued')
 */
export const EVENTS = logEvents({
  /** A job moved (onObjectFinalized, onDeadLetter). */
  job: ['queued', 'rejected', 'failed'],
  /** createUpload. */
  upload: ['ticket_issued', 'rate_limited', 'sign_failed'],
  /** onObjectFinalized, besides the job it queues or rejects. */
  finalize: ['invalid_event', 'ignored', 'content_type_corrected', 'superseded', 'replaced', 'too_late', 'duplicate', 'republish', 'label_failed'],
  /** getStatus. */
  status: ['read_failed'],
  /** onDeadLetter, besides the job it fails. */
  deadletter: ['invalid_event', 'worker_owned', 'unparseable', 'no_document', 'already_terminal', 'superseded', 'label_failed'],
  /** Any handler, before or around the work: configuration and the HTTP layer. */
  config: ['invalid'],
  http: ['handler_crashed', 'refused_by_framework', 'unhandled_error'],
});
