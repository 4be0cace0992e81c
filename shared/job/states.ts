import { TERMINAL_STATES, type JobState } from '../../schemas/status.js';

export type { JobState } from '../../schemas/status.js';

/** The states a status document may be created in (create-only, by whoever sees the job first). */
export const INITIAL_STATES: readonly JobState[] = ['queued', 'rejected', 'failed'];

/**
 * The one transition table: where each state may go next. A move that is not listed is
 * refused by every helper in document.ts (they answer "no change"), so a late or repeated
 * writer can never undo an ending.
 * - queued -> processing: a worker claims it. -> failed: the worker found its message
 *   unreadable, or onDeadLetter after Pub/Sub gave up. -> succeeded: an attempt claimed
 *   before a replay reopened the job finishes after it.
 * - queued or processing -> queued: a newer PUT of the upload takes the job over (its
 *   finalize event, `toNewerSource` in generations.ts); -> rejected: the same, when the
 *   newer bytes are not an image. Only for a newer generation: no other helper makes them.
 * - processing -> processing: a redelivery claims it again (attempts + 1, no new entry).
 * - failed -> queued: only `replay`, only for `dead_lettered` (an operator's decision).
 * - succeeded, rejected: final.
 */
export const NEXT_STATES: Readonly<Record<JobState, readonly JobState[]>> = {
  queued: ['queued', 'processing', 'succeeded', 'failed', 'rejected'],
  processing: ['queued', 'processing', 'succeeded', 'failed', 'rejected'],
  succeeded: [],
  rejected: [],
  failed: ['queued'],
};

/**
 * Whether the job has ended: nothing moves it on by itself (an operator's replay may
 * still reopen a dead-lettered failure). Every ending has a completion event.
 * @example isTerminal('failed') === true
 */
export function isTerminal(state: JobState): boolean {
  return TERMINAL_STATES.has(state);
}

/** @example canMove('queued', 'processing') === true; canMove('succeeded', 'failed') === false */
export function canMove(from: JobState, to: JobState): boolean {
  return NEXT_STATES[from].includes(to);
}
