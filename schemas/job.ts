import { z } from 'zod';
import { acceptedContentType, generation, isoTime, jobId, outputList, schemaVersion, traceContext } from './common.js';

export const SourceObject = z
  .object({
    bucket: z.string().min(3).max(222),
    name: z.string().min(1).max(1024),
    generation,
    md5Hash: z.string().optional(),
    contentType: acceptedContentType,
    size: z.number().int().positive(),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
  })
  .strict();
export type SourceObject = z.infer<typeof SourceObject>;

/** Published by onObjectFinalized to the jobs topic; consumed by the worker. */
export const JobMessage = z
  .object({
    schemaVersion,
    jobId,
    trigger: z.enum(['upload', 'batch']),
    source: SourceObject,
    outputs: outputList,
    clientRef: z.string().max(128).optional(),
    trace: traceContext.optional(),
    requestedAt: isoTime,
  })
  .strict();
export type JobMessage = z.infer<typeof JobMessage>;
