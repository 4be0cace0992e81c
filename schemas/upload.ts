import { z } from 'zod';
import { acceptedContentType, isoTime, jobId, OUTPUT_KINDS, outputKind, outputList, SCHEMA_VERSION, schemaVersion } from './common.js';

/** The browser's request for a signed upload URL (`POST /uploads`). */
export const UploadRequest = z
  .object({
    schemaVersion: schemaVersion.default(SCHEMA_VERSION),
    contentType: acceptedContentType,
    contentLength: z.number().int().positive(),
    outputs: outputList.default([...OUTPUT_KINDS]),
    clientRef: z.string().min(1).max(128).optional(),
  })
  .strict();
export type UploadRequest = z.infer<typeof UploadRequest>;

/** The answer: where and how to PUT the photo, and where to poll. */
export const UploadTicket = z
  .object({
    schemaVersion,
    jobId,
    upload: z
      .object({
        method: z.literal('PUT'),
        url: z.url(),
        headers: z.record(z.string(), z.string()),
        expiresAt: isoTime,
      })
      .strict(),
    statusUrl: z.string().min(1),
  })
  .strict();
export type UploadTicket = z.infer<typeof UploadTicket>;

/**
 * What createUpload accepts (`GET /uploads`), so a browser can refuse a wrong type or an
 * oversized file before asking for a ticket, with the server's own limits rather than a copy.
 */
export const UploadLimits = z
  .object({
    schemaVersion,
    maxUploadBytes: z.number().int().positive(),
    contentTypes: z.array(acceptedContentType).min(1),
    outputs: z.array(outputKind).min(1),
  })
  .strict();
export type UploadLimits = z.infer<typeof UploadLimits>;
