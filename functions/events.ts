import { z } from 'zod';
import { generation } from '../schemas/common.js';

/**
 * The CloudEvents the functions receive, parsed at the boundary. Only the fields we use
 * are required; the rest of the object resource passes through untouched.
 */

export const STORAGE_FINALIZED_TYPE = 'google.cloud.storage.object.v1.finalized';
export const PUBSUB_PUBLISHED_TYPE = 'google.cloud.pubsub.topic.v1.messagePublished';

// The object resource sends int64 fields as decimal strings; accept numbers as well.
const int64 = z.union([z.string().regex(/^[0-9]+$/), z.number().int().nonnegative()]).transform((v) => Number(v));

export const StorageObjectData = z.object({
  bucket: z.string().min(1),
  name: z.string().min(1),
  generation: z.union([generation, z.number().int().positive()]).transform((v) => String(v)),
  size: int64,
  contentType: z.string().optional(),
  md5Hash: z.string().optional(),
  metadata: z.record(z.string(), z.string()).optional(),
});
export type StorageObjectData = z.infer<typeof StorageObjectData>;

export const FinalizedEvent = z.object({
  id: z.string().min(1),
  type: z.literal(STORAGE_FINALIZED_TYPE),
  source: z.string().optional(),
  /** Distributed Tracing extension, when the platform sets one; checked where it is used. */
  traceparent: z.string().optional(),
  data: StorageObjectData,
});
export type FinalizedEvent = z.infer<typeof FinalizedEvent>;

export const PubSubPublishedEvent = z.object({
  id: z.string().min(1),
  type: z.literal(PUBSUB_PUBLISHED_TYPE),
  data: z.object({
    message: z.object({
      data: z.string().optional(),
      attributes: z.record(z.string(), z.string()).optional(),
      messageId: z.string().optional(),
      publishTime: z.string().optional(),
    }),
    subscription: z.string().optional(),
  }),
});
export type PubSubPublishedEvent = z.infer<typeof PubSubPublishedEvent>;
