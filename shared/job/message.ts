import { TRACEPARENT } from '../../schemas/common.js';
import { JobMessage } from '../../schemas/job.js';
import { formatZodError, parseOrThrow } from '../../schemas/parse.js';
import type { JobStatus } from '../../schemas/status.js';
import { isJobId } from '../ids.js';

/**
 * The JobMessage on the jobs topic: built from a queued document, read back by the worker,
 * onDeadLetter and replay. The document holds everything the worker needs.
 */

/**
 * The JobMessage for a queued document; `traceparent` (from the upload's event) carries the
 * trace on to the worker.
 * @example jobMessageFor(doc, event.traceparent)
 */
export function jobMessageFor(doc: JobStatus, traceparent?: string): JobMessage {
  return parseOrThrow(JobMessage, 'JobMessage', {
    schemaVersion: doc.schemaVersion,
    jobId: doc.jobId,
    trigger: doc.trigger,
    source: doc.source,
    outputs: doc.outputsRequested,
    ...(doc.clientRef !== undefined ? { clientRef: doc.clientRef } : {}),
    ...(traceparent !== undefined && TRACEPARENT.test(traceparent) ? { trace: { traceparent } } : {}),
    requestedAt: doc.createdAt,
  });
}

/** The Pub/Sub message (body and attributes) that carries a JobMessage. */
export function encodeJobMessage(message: JobMessage): { data: Buffer; attributes: Record<string, string> } {
  return {
    data: Buffer.from(JSON.stringify(message)),
    attributes: { [JOB_ID_ATTRIBUTE]: message.jobId, trigger: message.trigger, schemaVersion: String(message.schemaVersion) },
  };
}

const JOB_ID_ATTRIBUTE = 'jobId';

/** A JobMessage, or why not; `jobId` is the job a broken message still names, if any. */
export type ReadJobMessage = { ok: true; message: JobMessage } | { ok: false; reason: string; jobId?: string };

/**
 * Pub/Sub data -> JobMessage, never throwing: a bad message is a value to record, not a
 * crash. A broken message that still names its job (a valid `jobId` field) says so, so
 * that job can be failed instead of lost.
 * @example readJobMessage(Buffer.from('{"jobId":"a1b2…"}')) // { ok: false, reason: 'invalid JobMessage: …', jobId: 'a1b2…' }
 */
export function readJobMessage(data: Buffer | Uint8Array): ReadJobMessage {
  let raw: unknown;
  try {
    raw = JSON.parse(Buffer.from(data).toString('utf8'));
  } catch (err) {
    return { ok: false, reason: `data is not JSON: ${(err as Error).message}` };
  }
  const result = JobMessage.safeParse(raw);
  if (result.success) return { ok: true, message: result.data };
  const id = typeof raw === 'object' && raw !== null ? (raw as { jobId?: unknown }).jobId : undefined;
  return { ok: false, reason: `invalid JobMessage: ${formatZodError(result.error)}`, ...(typeof id === 'string' && isJobId(id) ? { jobId: id } : {}) };
}

/**
 * The job a message is about: its body's, else the `jobId` attribute the publisher set.
 * @example jobIdOfMessage(message.data, message.attributes)
 */
export function jobIdOfMessage(data: Buffer | Uint8Array, attributes: Readonly<Record<string, string>>): string | undefined {
  const read = readJobMessage(data);
  const id = read.ok ? read.message.jobId : read.jobId;
  if (id !== undefined) return id;
  const attr = attributes[JOB_ID_ATTRIBUTE];
  return attr !== undefined && isJobId(attr) ? attr : undefined;
}

/**
 * Set on a message the worker put on the dead-letter topic itself (one no job could record);
 * Pub/Sub's own dead letters never carry it. onDeadLetter leaves these to the review
 * subscription: the worker already decided what they mean.
 */
export const DEAD_LETTER_REASON_ATTRIBUTE = 'petcutout-dead-letter-reason';

/** Attributes of a message the worker dead-letters itself: the original's, plus why. */
export function deadLetterAttributes(original: { attributes: Readonly<Record<string, string>>; messageId: string }, reason: string): Record<string, string> {
  return {
    ...original.attributes,
    [DEAD_LETTER_REASON_ATTRIBUTE]: 'invalid_message',
    'petcutout-dead-letter-detail': reason.slice(0, 1024),
    'petcutout-original-message-id': original.messageId,
  };
}

/** @example deadLetteredByWorker({ 'petcutout-dead-letter-reason': 'invalid_message' }) === true */
export function deadLetteredByWorker(attributes: Readonly<Record<string, string>> | undefined): boolean {
  return attributes?.[DEAD_LETTER_REASON_ATTRIBUTE] !== undefined;
}
