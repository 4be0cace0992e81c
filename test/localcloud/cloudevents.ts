/**
 * Pure conversions from Pub/Sub messages to the binary-mode HTTP CloudEvents that Eventarc
 * sends to Cloud Functions (gen2). No I/O here, so the shapes are tested as tables.
 */

export const STORAGE_FINALIZED = 'google.cloud.storage.object.v1.finalized';
export const PUBSUB_PUBLISHED = 'google.cloud.pubsub.topic.v1.messagePublished';

/** The few fields of an official-client `Message` the conversions read. */
export interface PubsubMessageLike {
  id: string;
  data: Buffer;
  attributes: Record<string, string>;
  publishTime: Date;
  orderingKey?: string;
}

/** One CloudEvent ready to POST: `ce-*` headers plus the JSON body. */
export interface HttpCloudEvent {
  id: string;
  type: string;
  source: string;
  subject?: string;
  headers: Record<string, string>;
  body: string;
}

// int64 fields of the Cloud Storage object resource: the JSON API (and so Eventarc) writes
// them as decimal strings, and handlers parse them as such.
const INT64_FIELDS = ['generation', 'metageneration', 'size'] as const;

/**
 * The `object.v1.finalized` event for a Cloud Storage notification, or undefined for any
 * other event type. `id` is the notification's message id, as with Eventarc, so a
 * redelivered notification carries the same id and handlers can deduplicate on it.
 * @example storageFinalizedEvent(msg)?.headers['ce-subject'] === 'objects/uploads/x/original'
 */
export function storageFinalizedEvent(msg: PubsubMessageLike): HttpCloudEvent | undefined {
  const attrs = msg.attributes;
  if (attrs['eventType'] !== undefined && attrs['eventType'] !== 'OBJECT_FINALIZE') return undefined;
  const object = objectResource(msg);
  const bucket = stringField(object['bucket']) ?? attrs['bucketId'];
  const name = stringField(object['name']) ?? attrs['objectId'];
  if (!bucket || !name) return undefined;
  const time = attrs['eventTime'] ?? stringField(object['updated']) ?? msg.publishTime.toISOString();
  return binaryEvent({
    id: msg.id,
    type: STORAGE_FINALIZED,
    source: `//storage.googleapis.com/projects/_/buckets/${bucket}`,
    subject: `objects/${name}`,
    time,
    data: { ...object, bucket, name },
  });
}

/**
 * The `topic.v1.messagePublished` event Eventarc sends for a Pub/Sub trigger: the message
 * wrapped as in a push subscription.
 */
export function messagePublishedEvent(msg: PubsubMessageLike, projectId: string, topic: string, subscription: string): HttpCloudEvent {
  const publishTime = msg.publishTime.toISOString();
  const message: Record<string, unknown> = {
    data: msg.data.toString('base64'),
    attributes: { ...msg.attributes },
    messageId: msg.id,
    publishTime,
  };
  if (msg.orderingKey) message['orderingKey'] = msg.orderingKey;
  return binaryEvent({
    id: msg.id,
    type: PUBSUB_PUBLISHED,
    source: `//pubsub.googleapis.com/projects/${projectId}/topics/${topic}`,
    time: publishTime,
    data: { message, subscription: `projects/${projectId}/subscriptions/${subscription}` },
  });
}

/** The bucket a storage notification is about, for route filtering. */
export function notificationBucket(msg: PubsubMessageLike): string | undefined {
  return msg.attributes['bucketId'] ?? stringField(objectResource(msg)['bucket']);
}

function binaryEvent(e: { id: string; type: string; source: string; subject?: string; time: string; data: unknown }): HttpCloudEvent {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'ce-specversion': '1.0',
    'ce-id': e.id,
    'ce-type': e.type,
    'ce-source': e.source,
    'ce-time': e.time,
  };
  if (e.subject !== undefined) headers['ce-subject'] = e.subject;
  return { id: e.id, type: e.type, source: e.source, ...(e.subject !== undefined && { subject: e.subject }), headers, body: JSON.stringify(e.data) };
}

/** The JSON_API_V1 payload with int64 fields as strings; {} when the payload is not JSON (format NONE). */
function objectResource(msg: PubsubMessageLike): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = msg.data.length ? JSON.parse(msg.data.toString('utf8')) : {};
  } catch (_notJson) {
    parsed = {};
  }
  const object: Record<string, unknown> = parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? { ...(parsed as Record<string, unknown>) } : {};
  if (object['generation'] === undefined && msg.attributes['objectGeneration'] !== undefined) {
    object['generation'] = msg.attributes['objectGeneration'];
  }
  for (const field of INT64_FIELDS) {
    const value = object[field];
    if (typeof value === 'number' || typeof value === 'bigint') object[field] = String(value);
  }
  return object;
}

function stringField(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
