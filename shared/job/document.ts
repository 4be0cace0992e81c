import type { JobMessage } from '../../schemas/job.js';
import type { JobError, JobState, JobStatus, OutputObject, Quality } from '../../schemas/status.js';
import { canMove, INITIAL_STATES } from './states.js';

/**
 * The status document's changes, as pure functions over documents. Each named move checks
 * the transition table and answers undefined for "no change" when the move is not allowed,
 * which is exactly what `StatusStore.update` takes: `store.update(id, (d) => toFailed(d, error, now))`.
 */

/** The fields a caller chooses; the rest (version, timestamps, history) are the module's. */
export type NewStatusFields = Omit<JobStatus, 'schemaVersion' | 'createdAt' | 'updatedAt' | 'transitions' | 'attempts'> & { attempts?: number };

/**
 * A new document in one of the initial states, with that first transition recorded.
 * @example newStatus({ jobId, state: 'queued', trigger: 'upload', source, outputsRequested: ['cutout'] }, now)
 */
export function newStatus(fields: NewStatusFields, at: Date): JobStatus {
  if (!INITIAL_STATES.includes(fields.state)) throw new Error(`a job cannot start ${fields.state}: it starts ${INITIAL_STATES.join(', ')}`);
  const iso = at.toISOString();
  return { schemaVersion: 1, ...fields, attempts: fields.attempts ?? 0, createdAt: iso, updatedAt: iso, transitions: [{ state: fields.state, at: iso }] };
}

/** For a job whose document is missing (published by hand, or lost): rebuilt from its message. */
export function queuedFromMessage(msg: JobMessage, at: Date): JobStatus {
  return newStatus(fromMessage(msg, 'queued'), at);
}

/** onDeadLetter's document for a job that never had one: failed from the start. */
export function failedFromMessage(msg: JobMessage, error: JobError, attempts: number, at: Date): JobStatus {
  return newStatus({ ...fromMessage(msg, 'failed'), attempts, error }, at);
}

function fromMessage(msg: JobMessage, state: JobState): NewStatusFields {
  return {
    jobId: msg.jobId,
    state,
    trigger: msg.trigger,
    source: { ...msg.source },
    outputsRequested: [...msg.outputs],
    ...(msg.clientRef === undefined ? {} : { clientRef: msg.clientRef }),
  };
}

/** `doc` moved to `to` when the table allows it, else undefined. A repeated state adds no history entry. */
function move(doc: JobStatus, to: JobState, at: Date): JobStatus | undefined {
  if (!canMove(doc.state, to)) return undefined;
  const iso = at.toISOString();
  const transitions = doc.state === to ? doc.transitions : [...doc.transitions, { state: to, at: iso }];
  return { ...doc, state: to, updatedAt: iso, transitions };
}

/** A worker claims the job (again, on a redelivery): one more attempt. */
export function toProcessing(doc: JobStatus, at: Date): JobStatus | undefined {
  const next = move(doc, 'processing', at);
  return next && { ...next, attempts: doc.attempts + 1 };
}

/**
 * The preview is written: a `processing` document carries it at once (processing ->
 * processing, no new history entry, no new attempt), so a shop page shows the cut-out while
 * the full-size outputs are still being encoded. Any other state is "no change": a job that
 * already ended keeps its ending.
 * @example store.update(id, (d) => withPreview(d, previewObject, now))
 */
export function withPreview(doc: JobStatus, preview: OutputObject, at: Date): JobStatus | undefined {
  if (doc.state !== 'processing' || preview.kind !== 'preview') return undefined;
  const others = (doc.outputs ?? []).filter((o) => o.kind !== 'preview');
  return { ...doc, outputs: [...others, preview], updatedAt: at.toISOString() };
}

export interface SuccessDetails {
  outputs: OutputObject[];
  model: { id: string; sha256?: string; provider: string };
  timingsMs: Record<string, number>;
  cacheHit: boolean;
  /** The pipeline's verdict on the cutout; absent from a worker or cache entry that has none. */
  quality?: Quality;
}

export function toSucceeded(doc: JobStatus, details: SuccessDetails, at: Date): JobStatus | undefined {
  const next = move(doc, 'succeeded', at);
  if (!next) return undefined;
  const { error: _dropped, quality: _old, ...rest } = next;
  const model = { id: details.model.id, provider: details.model.provider, ...(details.model.sha256 ? { sha256: details.model.sha256 } : {}) };
  const quality = details.quality && { score: details.quality.score, flags: [...details.quality.flags] };
  return { ...rest, outputs: details.outputs, model, timingsMs: roundTimings(details.timingsMs), cacheHit: details.cacheHit, ...(quality ? { quality } : {}) };
}

/**
 * `attempts`: deliveries the failing writer counted (onDeadLetter's count), kept when higher.
 * A preview written before the failure is dropped: a failed job offers no outputs.
 */
export function toFailed(doc: JobStatus, error: JobError, at: Date, attempts?: number): JobStatus | undefined {
  const next = move(doc, 'failed', at);
  if (!next) return undefined;
  const { outputs: _dropped, ...rest } = next;
  return { ...rest, error, ...(attempts === undefined ? {} : { attempts: Math.max(doc.attempts, attempts) }) };
}

/** The code onDeadLetter writes; the only failure a replay reopens. */
export const DEAD_LETTERED = 'dead_lettered';

/** replay: a dead-lettered job back to `queued`, its error dropped. Anything else stays as it is. */
export function reopen(doc: JobStatus, at: Date): JobStatus | undefined {
  if (doc.state !== 'failed' || doc.error?.code !== DEAD_LETTERED) return undefined;
  const next = move(doc, 'queued', at);
  if (!next) return undefined;
  const { error: _dropped, ...rest } = next;
  return rest;
}

/** Reopened by a replay whose publish may not have happened: queued right after a failure. */
export function wasReopened(doc: JobStatus): boolean {
  const t = doc.transitions;
  return doc.state === 'queued' && t.length >= 2 && t[t.length - 2]!.state === 'failed';
}

/**
 * Which deployable wrote the job's ending, and so publishes (and re-sends) its completion
 * event: the functions for a rejection and for a dead-lettered failure, the worker for the
 * rest. Two writers of one event would send the same id under two `source`s, which
 * CloudEvents consumers take for two events. Undefined while the job runs.
 */
export function endingWriter(doc: Pick<JobStatus, 'state' | 'error'>): 'functions' | 'worker' | undefined {
  if (doc.state === 'rejected' || (doc.state === 'failed' && doc.error?.code === DEAD_LETTERED)) return 'functions';
  return doc.state === 'succeeded' || doc.state === 'failed' ? 'worker' : undefined;
}

function roundTimings(t: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.max(0, Math.round(v * 10) / 10)]));
}
