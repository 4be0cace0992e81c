import { z } from 'zod';
import { isoTime, jobId, outputList, schemaVersion } from './common.js';
import { JobError, ModelInfo, OutputObject, Quality } from './status.js';

/** Reverse-DNS and versioned: a breaking change to the data gets a new type. */
export const COMPLETION_EVENT_TYPE = 'com.petcutout.job.completed.v1';
export const COMPLETION_OUTCOMES = ['succeeded', 'failed', 'rejected'] as const;
export type CompletionOutcome = (typeof COMPLETION_OUTCOMES)[number];

export const CompletionData = z
  .object({
    schemaVersion,
    jobId,
    outcome: z.enum(COMPLETION_OUTCOMES),
    source: z.object({ bucket: z.string(), name: z.string(), generation: z.string().optional() }).strict(),
    outputsRequested: outputList.optional(),
    outputs: z.array(OutputObject).optional(),
    error: JobError.optional(),
    model: ModelInfo.optional(),
    /** A succeeded job's quality verdict (see status.ts's Quality). */
    quality: Quality.optional(),
    clientRef: z.string().max(128).optional(),
    completedAt: isoTime,
  })
  .strict();
export type CompletionData = z.infer<typeof CompletionData>;

/** CloudEvents 1.0, structured view; on Pub/Sub it travels in binary mode (`ce-*` attributes). */
export const CompletionEvent = z
  .object({
    specversion: z.literal('1.0'),
    id: z.string().min(1),
    source: z.string().min(1),
    type: z.literal(COMPLETION_EVENT_TYPE),
    subject: z.string().regex(/^jobs\/[0-9a-f]{32}$/),
    time: isoTime,
    datacontenttype: z.literal('application/json'),
    data: CompletionData,
  })
  .strict()
  .refine((e) => e.id === completionEventId(e.data.jobId, e.data.outcome), {
    error: 'id must be completionEventId(jobId, outcome)',
    path: ['id'],
  });
export type CompletionEvent = z.infer<typeof CompletionEvent>;

/**
 * One id per job outcome, so subscribers can deduplicate redeliveries.
 * @example completionEventId('0af3…', 'succeeded') === '0af3…:succeeded'
 */
export function completionEventId(id: string, outcome: CompletionOutcome): string {
  return `${id}:${outcome}`;
}
