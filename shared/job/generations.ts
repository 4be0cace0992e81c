import type { JobStatus } from '../../schemas/status.js';
import { jobForObject } from './object-names.js';
import { canMove, isTerminal } from './states.js';

/**
 * A job follows the newest generation of its upload. A browser (or a flaky mobile network)
 * may PUT the same signed URL more than once; each PUT is a new generation of the same
 * object `uploads/{jobId}/original`, so of the same job, and Storage keeps only the last.
 * Whatever order their finalize events arrive in, the document ends up naming the newest
 * generation, and every writer that acts for one generation (the worker's claim, its
 * ending, onDeadLetter) acts only while the document still names that generation.
 * A batch drop is different: its job id is derived from the generation, so a newer
 * generation is another job (jobForObject), and the older job's source really is gone.
 */

/**
 * Orders two object generations (decimal int64 strings; Storage's are microsecond
 * timestamps, increasing for each new write of a name).
 * @example compareGenerations('1732380000999999', '1732380000123456') === 1
 */
export function compareGenerations(a: string, b: string): -1 | 0 | 1 {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Where `generation` stands against the one the document names: `older` (a superseded
 * event or message: nothing to do), `same`, or `newer` (the job should follow it). A
 * document without a generation (none is written that way) counts as `same`.
 */
export function generationStanding(doc: Pick<JobStatus, 'source'>, generation: string): 'older' | 'same' | 'newer' {
  if (doc.source.generation === undefined) return 'same';
  const c = compareGenerations(generation, doc.source.generation);
  return c < 0 ? 'older' : c > 0 ? 'newer' : 'same';
}

/**
 * `change`, applied only while the document names `generation`: what a writer acting for
 * one generation (a JobMessage's) wraps its move in, so a superseded message never claims,
 * ends or fails a job that has moved on to a newer upload.
 * @example store.update(id, forGeneration(msg.source.generation, (d) => toProcessing(d, now)))
 */
export function forGeneration(generation: string, change: (doc: JobStatus) => JobStatus | undefined): (doc: JobStatus) => JobStatus | undefined {
  return (doc) => (generationStanding(doc, generation) === 'same' ? change(doc) : undefined);
}

/**
 * The job taken over by a newer generation of its source: `next` is the document the
 * ingest function built for that generation (`queued`, or `rejected` when the newer bytes
 * are not an image). Undefined (no change) unless the document names an older generation
 * and the job has not ended: an ending is final and was announced, so a PUT after it
 * (the signed URL lives 15 minutes) changes nothing. What the shopper asked for (outputs,
 * clientRef) was signed into the URL and so is the same for every PUT; the document keeps
 * its own. Attempts carry on: they count claims of this job, whichever bytes.
 * @example store.update(jobId, (d) => toNewerSource(d, queuedForG2, now))
 */
export function toNewerSource(doc: JobStatus, next: JobStatus, at: Date): JobStatus | undefined {
  if (isTerminal(doc.state) || next.source.generation === undefined) return undefined;
  if (generationStanding(doc, next.source.generation) !== 'newer' || !canMove(doc.state, next.state)) return undefined;
  const iso = at.toISOString();
  const { error: _dropped, outputs: _none, ...rest } = doc;
  const transitions = doc.state === next.state ? doc.transitions : [...doc.transitions, { state: next.state, at: iso }];
  return { ...rest, state: next.state, source: next.source, updatedAt: iso, transitions, ...(next.error ? { error: next.error } : {}) };
}

/**
 * Whether `live` (the object's live generation) is a newer generation of the same job's
 * source: then a message or event for `source`'s generation is superseded, and the newer
 * generation's own event owns the job. False for a batch drop (a newer generation is
 * another job), for another object and for an older or equal generation.
 * @example supersededBy({ bucket: 'u', name: 'uploads/3f…/original', generation: '1' }, '2', '3f…', 'u') === true
 */
export function supersededBy(source: { bucket: string; name: string; generation: string }, live: string, jobId: string, uploadsBucket: string): boolean {
  if (compareGenerations(live, source.generation) <= 0) return false;
  return jobForObject({ bucket: source.bucket, name: source.name, generation: live }, uploadsBucket)?.jobId === jobId;
}
