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

/** The status document the storefront polls: `gs://RESULTS/jobs/{jobId}/status.json`. */
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
  })
  .strict();
export type JobStatus = z.infer<typeof JobStatus>;

/** What getStatus answers: the document plus short-lived download URLs once succeeded. */
export const StatusResponse = JobStatus.extend({
  downloads: z.record(z.string(), z.object({ url: z.url(), expiresAt: isoTime }).strict()).optional(),
});
export type StatusResponse = z.infer<typeof StatusResponse>;
