import type { JobState, JobStatus } from '../../schemas/status.js';

/**
 * A document as if it had moved to `state` at `at`: for building test fixtures in any
 * state, including ones no writer would produce. Product code moves documents through
 * shared/job's checked helpers (toProcessing, toFailed, ...) instead.
 */
export function withState(doc: JobStatus, state: JobState, at: Date, patch: Partial<JobStatus> = {}): JobStatus {
  const iso = at.toISOString();
  return { ...doc, ...patch, state, updatedAt: iso, transitions: [...doc.transitions, { state, at: iso }] };
}
