// Bucket notification configs and their delivery to Pub/Sub, as Cloud Storage does it:
// one message per matching event, payload JSON_API_V1 (the object resource) or NONE, and
// the standard attributes. Publishing happens after the write has been answered; failures
// (topic missing, emulator down) are logged and never affect the write.
import { randomUUID } from 'node:crypto';
import type { PubSub, Topic } from '@google-cloud/pubsub';
import type { Logger } from 'pino';
import { badRequest } from './errors.js';
import { objectResource } from './resource.js';
import type { ObjectEvent, ObjectStore } from './store.js';
import type { NotificationConfig, ObjectMeta } from './types.js';

export interface PubSubTarget {
  /** `host:port` of the Pub/Sub emulator */
  apiEndpoint: string;
  projectId: string;
}

const EVENT_TYPES: readonly string[] = ['OBJECT_FINALIZE', 'OBJECT_METADATA_UPDATE', 'OBJECT_DELETE', 'OBJECT_ARCHIVE'];
const TOPIC_PATTERN = /^(?:\/\/pubsub\.[^/]+\/)?projects\/([^/]+)\/topics\/([^/]+)$/;

/** Validates a notification config from the JSON API (snake_case, as the client sends) or code. */
export function readNotificationConfig(body: Record<string, unknown>, defaultProject: string): NotificationConfig {
  const pick = (snake: string, camel: string): unknown => body[snake] ?? body[camel];
  const rawTopic = body['topic'];
  if (typeof rawTopic !== 'string' || rawTopic === '') throw badRequest('A notification config requires a topic.', 'required');
  const topic = rawTopic.includes('/') ? rawTopic : `projects/${defaultProject}/topics/${rawTopic}`;
  const m = TOPIC_PATTERN.exec(topic);
  if (!m) throw badRequest(`Invalid topic '${topic}'.`);
  const payloadFormat = pick('payload_format', 'payloadFormat') ?? 'JSON_API_V1';
  if (payloadFormat !== 'JSON_API_V1' && payloadFormat !== 'NONE') throw badRequest(`Invalid payload_format '${String(payloadFormat)}'.`);
  const eventTypes = pick('event_types', 'eventTypes');
  if (eventTypes !== undefined && (!Array.isArray(eventTypes) || eventTypes.some((e) => !EVENT_TYPES.includes(e as string)))) {
    throw badRequest(`Invalid event_types; allowed: ${EVENT_TYPES.join(', ')}.`);
  }
  const prefix = pick('object_name_prefix', 'objectNamePrefix');
  if (prefix !== undefined && typeof prefix !== 'string') throw badRequest('Invalid object_name_prefix.');
  const custom = pick('custom_attributes', 'customAttributes');
  if (custom !== undefined && (typeof custom !== 'object' || custom === null || Object.values(custom).some((v) => typeof v !== 'string'))) {
    throw badRequest('Invalid custom_attributes: expected a map of strings.');
  }
  return {
    id: randomUUID().slice(0, 8),
    topic: `//pubsub.googleapis.com/projects/${m[1]}/topics/${m[2]}`,
    payload_format: payloadFormat,
    ...(eventTypes ? { event_types: eventTypes as string[] } : {}),
    ...(prefix ? { object_name_prefix: prefix } : {}),
    ...(custom ? { custom_attributes: custom as Record<string, string> } : {}),
    etag: '1',
  };
}

/** Pure: the Pub/Sub message Cloud Storage sends for `event` on `meta` under `config`. */
export function notificationMessage(
  config: NotificationConfig,
  event: ObjectEvent,
  meta: ObjectMeta,
  baseUrl: string,
  eventTime: string,
): { data: Buffer; attributes: Record<string, string> } {
  const attributes: Record<string, string> = {
    ...(config.custom_attributes ?? {}),
    notificationConfig: `projects/_/buckets/${meta.bucket}/notificationConfigs/${config.id}`,
    eventType: event,
    payloadFormat: config.payload_format,
    bucketId: meta.bucket,
    objectId: meta.name,
    objectGeneration: meta.generation,
    eventTime,
  };
  const data = config.payload_format === 'JSON_API_V1' ? Buffer.from(JSON.stringify(objectResource(meta, baseUrl))) : Buffer.alloc(0);
  return { data, attributes };
}

export function matches(config: NotificationConfig, event: ObjectEvent, meta: ObjectMeta): boolean {
  if (config.event_types && config.event_types.length > 0 && !config.event_types.includes(event)) return false;
  return !config.object_name_prefix || meta.name.startsWith(config.object_name_prefix);
}

export class Notifier {
  private pubsub: PubSub | undefined;
  private readonly topics = new Map<string, Topic>();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly store: ObjectStore,
    private readonly target: PubSubTarget | undefined,
    private readonly baseUrl: string,
    private readonly log: Logger,
  ) {}

  /** Store listener: looks up the bucket's configs and publishes in the background. */
  readonly onEvent = (event: ObjectEvent, meta: ObjectMeta): void => {
    const eventTime = new Date().toISOString();
    const job = this.publishAll(event, meta, eventTime).catch((err: unknown) => {
      this.log.error({ event: 'storage.notification.failed', err, bucket: meta.bucket, object: meta.name }, 'notification failed');
    });
    this.inFlight.add(job);
    void job.finally(() => this.inFlight.delete(job));
  };

  /** Resolves when every notification started so far has been published (or has failed). */
  async flush(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all([...this.inFlight]);
  }

  async close(): Promise<void> {
    await this.flush();
    await this.pubsub?.close();
    this.pubsub = undefined;
  }

  private async publishAll(event: ObjectEvent, meta: ObjectMeta, eventTime: string): Promise<void> {
    const configs = (await this.store.getNotifications(meta.bucket)).filter((c) => matches(c, event, meta));
    if (configs.length === 0) return;
    if (!this.target) {
      this.log.warn({ event: 'storage.notification.noPubSub', bucket: meta.bucket }, 'notification configured but no Pub/Sub endpoint given');
      return;
    }
    await Promise.all(
      configs.map(async (config) => {
        const message = notificationMessage(config, event, meta, this.baseUrl, eventTime);
        try {
          const messageId = await (await this.topicFor(config.topic)).publishMessage(message);
          this.log.debug({ event: 'storage.notification.published', messageId, topic: config.topic, object: meta.name }, 'notification published');
        } catch (err) {
          this.log.error({ event: 'storage.notification.publishFailed', err, topic: config.topic, object: meta.name }, 'publishing notification failed');
        }
      }),
    );
  }

  private async topicFor(topic: string): Promise<Topic> {
    const m = TOPIC_PATTERN.exec(topic);
    const name = `projects/${m?.[1]}/topics/${m?.[2]}`;
    let t = this.topics.get(name);
    if (!t) {
      if (!this.pubsub) {
        // Loaded on first use: gRPC and the Pub/Sub client cost ~50 MB and a second of startup
        // that an emulator without notifications should not pay.
        const { PubSub: Client } = await import('@google-cloud/pubsub');
        this.pubsub ??= new Client({ projectId: this.target!.projectId, apiEndpoint: this.target!.apiEndpoint, emulatorMode: true });
      }
      t = this.pubsub.topic(name);
      this.topics.set(name, t);
    }
    return t;
  }
}
