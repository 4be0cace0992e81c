// Shapes the emulator keeps on disk. Numbers that the JSON API sends as decimal strings
// (generation, metageneration, size) are stored as strings too, so resources are written as-is.

export interface CorsRule {
  origin: string[];
  method: string[];
  responseHeader?: string[];
  maxAgeSeconds?: number;
}

export interface BucketMeta {
  name: string;
  projectId: string;
  timeCreated: string;
  updated: string;
  metageneration: string;
  location: string;
  storageClass: string;
  cors: CorsRule[];
}

/** Object fields a client may set (upload metadata, PATCH, copy overrides). */
export interface ObjectAttrs {
  contentType?: string;
  contentEncoding?: string;
  contentDisposition?: string;
  contentLanguage?: string;
  cacheControl?: string;
  customTime?: string;
  metadata?: Record<string, string>;
}

export interface ObjectMeta extends ObjectAttrs {
  bucket: string;
  name: string;
  generation: string;
  metageneration: string;
  size: string;
  md5Hash: string;
  crc32c: string;
  timeCreated: string;
  updated: string;
  storageClass: string;
  etag: string;
}

export interface NotificationConfig {
  id: string;
  /** `//pubsub.googleapis.com/projects/{project}/topics/{topic}` as the JSON API writes it. */
  topic: string;
  payload_format: 'JSON_API_V1' | 'NONE';
  event_types?: string[];
  custom_attributes?: Record<string, string>;
  object_name_prefix?: string;
  etag: string;
}

/** Query-string preconditions of the JSON API, already parsed to integers. */
export interface Preconditions {
  ifGenerationMatch?: number;
  ifGenerationNotMatch?: number;
  ifMetagenerationMatch?: number;
  ifMetagenerationNotMatch?: number;
}
