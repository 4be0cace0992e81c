import { z } from 'zod';
import { isoTime, jobId, outputKind, outputList, schemaVersion } from './common.js';
import { SourceObject } from './job.js';

export const JOB_STATES = ['queued', 'processing', 'succeeded', 'failed', 'rejected'] as const;
export const JobState = z.enum(JOB_STATES);
export type JobState = z.infer<typeof JobState>;
export const TERMINAL_STATES: ReadonlySet<JobState> = new Set(['succeeded', 'failed', 'rejected']);

/**
 * `message` is for the shopper (shared/messages.ts), shown as is; `detail`, when present, is
 * the technical text (a decoder's error, a status code) for operators and support.
 */
export const JobError = z
  .object({ code: z.string().regex(/^[a-z][a-z0-9_]*$/), message: z.string(), detail: z.string().max(2000).optional(), retryable: z.boolean() })
  .strict();
export type JobError = z.infer<typeof JobError>;

export const OutputObject = z
  .object({
    kind: outputKind,
    bucket: z.string(),
    name: z.string(),
    contentType: z.string(),
    size: z.number().int().nonnegative(),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
  })
  .strict();
export type OutputObject = z.infer<typeof OutputObject>;

export const ModelInfo = z
  .object({ id: z.string(), sha256: z.string().optional(), provider: z.string().optional() })
  .strict();

/**
 * The verdict on a succeeded job's cutout: `score` from 0 (unusable) to 1 (confident), and
 * `flags` saying why a person should look before it is printed: `uncertain_alpha` (much of the
 * subject neither clearly in nor out), `subject_cut_by_frame`, `several_subjects`,
 * `small_subject`. Flags are an open list (new ones may come without a new schema version):
 * treat any flag as "route to manual review" and show a code you do not know as such.
 */
export const Quality = z
  .object({
    score: z.number().min(0).max(1),
    flags: z.array(z.string().regex(/^[a-z][a-z0-9_]*$/)),
  })
  .strict();
export type Quality = z.infer<typeof Quality>;

/**
 * The status document the storefront polls: `gs://RESULTS/jobs/{jobId}/status.json`.
 * `outputs` while `processing`: the preview alone, as soon as it is written (before the
 * full-size outputs); once `succeeded`, every output.
 */
export const JobStatus = z
  .object({
    schemaVersion,
    jobId,
    state: JobState,
    trigger: z.enum(['upload', 'batch']),
    source: SourceObject.partial().extend({ bucket: z.string(), name: z.string() }),
    outputsRequested: outputList,
    clientRef: z.string().max(128).optional(),
    createdAt: isoTime,
    updatedAt: isoTime,
    transitions: z.array(z.object({ state: JobState, at: isoTime }).strict()).min(1),
    attempts: z.number().int().nonnegative(),
    outputs: z.array(OutputObject).optional(),
    error: JobError.optional(),
    model: ModelInfo.optional(),
    timingsMs: z.record(z.string(), z.number().nonnegative()).optional(),
    cacheHit: z.boolean().optional(),
    quality: Quality.optional(),
  })
  .strict();
export type JobStatus = z.infer<typeof JobStatus>;

/**
 * What getStatus answers, with 202, for a job whose upload has arrived but whose status
 * document does not exist yet: Storage's finalize event has not reached onObjectFinalized,
 * which validates the photo and creates the document moments later. Not a job state: no
 * document, event or message ever carries `received`; a client keeps polling.
 */
export const StatusReceived = z
  .object({ schemaVersion, jobId, state: z.literal('received'), message: z.string() })
  .strict();
export type StatusReceived = z.infer<typeof StatusReceived>;

/**
 * What getStatus answers: the document plus short-lived download URLs for its outputs (the
 * preview while `processing`, everything once `succeeded`).
 */
export const StatusResponse = JobStatus.extend({
  downloads: z.record(z.string(), z.object({ url: z.url(), expiresAt: isoTime }).strict()).optional(),
});
export type StatusResponse = z.infer<typeof StatusResponse>;
