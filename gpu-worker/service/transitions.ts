import { SCHEMA_VERSION } from '../../schemas/common.js';
import type { JobMessage } from '../../schemas/job.js';
import { TERMINAL_STATES, type JobError, type JobState, type JobStatus, type OutputObject } from '../../schemas/status.js';

/** Pure status-document transitions; the CAS loop in status-updater.ts applies them. */

export function isTerminal(state: JobState): boolean {
  return TERMINAL_STATES.has(state);
}

/** For a job whose status document is missing (published by hand, or lost): rebuild it from the message. */
export function queuedFromMessage(msg: JobMessage, now: string): JobStatus {
  return {
    schemaVersion: SCHEMA_VERSION,
    jobId: msg.jobId,
    state: 'queued',
    trigger: msg.trigger,
    source: { ...msg.source },
    outputsRequested: [...msg.outputs],
    ...(msg.clientRef === undefined ? {} : { clientRef: msg.clientRef }),
    createdAt: now,
    updatedAt: now,
    transitions: [{ state: 'queued', at: now }],
    attempts: 0,
  };
}

function moveTo(status: JobStatus, state: JobState, now: string): JobStatus {
  // A redelivered job goes processing -> processing: count the attempt, keep one transition.
  const transitions = status.state === state ? status.transitions : [...status.transitions, { state, at: now }];
  return { ...status, state, updatedAt: now, transitions };
}

export function toProcessing(status: JobStatus, now: string): JobStatus {
  return { ...moveTo(status, 'processing', now), attempts: status.attempts + 1 };
}

export interface SuccessDetails {
  outputs: OutputObject[];
  model: { id: string; sha256?: string; provider: string };
  timingsMs: Record<string, number>;
  cacheHit: boolean;
}

export function toSucceeded(status: JobStatus, details: SuccessDetails, now: string): JobStatus {
  const { error: _dropped, ...rest } = status;
  const model = { id: details.model.id, provider: details.model.provider, ...(details.model.sha256 ? { sha256: details.model.sha256 } : {}) };
  return { ...moveTo(rest, 'succeeded', now), outputs: details.outputs, model, timingsMs: roundTimings(details.timingsMs), cacheHit: details.cacheHit };
}

export function toFailed(status: JobStatus, error: JobError, now: string): JobStatus {
  return { ...moveTo(status, 'failed', now), error };
}

function roundTimings(t: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [k, Math.max(0, Math.round(v * 10) / 10)]));
}
