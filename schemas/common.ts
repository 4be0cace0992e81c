import { z } from 'zod';

/** Every message and document carries this version; bump it on a breaking change. */
export const SCHEMA_VERSION = 1 as const;
export const schemaVersion = z.literal(SCHEMA_VERSION, {
  error: (iss) => `unsupported schemaVersion ${JSON.stringify(iss.input)}: expected ${SCHEMA_VERSION}`,
});

/** 128 bits as 32 lower-case hex digits: random for uploads, derived for batch drops. */
export const JOB_ID_PATTERN = /^[0-9a-f]{32}$/;
export const jobId = z.string().regex(JOB_ID_PATTERN, { error: 'expected a job id of 32 lower-case hex digits' });

export const ACCEPTED_CONTENT_TYPES = ['image/jpeg', 'image/png', 'image/webp'] as const;
export type AcceptedContentType = (typeof ACCEPTED_CONTENT_TYPES)[number];
export const acceptedContentType = z.enum(ACCEPTED_CONTENT_TYPES, {
  error: (iss) =>
    `unsupported content type ${JSON.stringify(iss.input)}: accepted are ${ACCEPTED_CONTENT_TYPES.join(', ')} ` +
    '(convert HEIC/HEIF, GIF, TIFF, SVG or BMP to JPEG or PNG first)',
});

/** What the pipeline can produce for a job. */
export const OUTPUT_KINDS = ['cutout', 'mask', 'bw', 'preview'] as const;
export type OutputKind = (typeof OUTPUT_KINDS)[number];
export const outputKind = z.enum(OUTPUT_KINDS);
export const outputList = z
  .array(outputKind)
  .min(1)
  .refine((a) => new Set(a).size === a.length, { error: 'outputs must not repeat' });

/** Cloud Storage generations are int64: kept as decimal strings, as the JSON API sends them. */
export const generation = z.string().regex(/^[1-9][0-9]{0,18}$/, { error: 'expected a generation as a decimal string' });
export const isoTime = z.iso.datetime({ offset: true });

/** W3C Trace Context `traceparent`: version-traceid-parentid-flags, lower-case hex. */
export const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

export const traceContext = z
  .object({
    traceparent: z.string().regex(TRACEPARENT).optional(),
    cloudTrace: z.string().max(256).optional(),
  })
  .strict();
