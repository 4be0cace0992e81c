/**
 * The Eventarc bridge: pulls Cloud Storage notifications and Pub/Sub topics through the
 * official client and POSTs them to functions as binary-mode CloudEvents, at least once.
 * A message is acked only after every route has a final outcome (delivered, failed after
 * retries, or dropped with retries off); stopping mid-retry nacks it, so Pub/Sub redelivers it later.
 */
import type { Message, PubSub, Subscription } from '@google-cloud/pubsub';
import type { Logger } from '../../shared/logger.js';
import { createLogger } from '../../shared/logger.js';
import { messagePublishedEvent, notificationBucket, storageFinalizedEvent, type HttpCloudEvent } from './cloudevents.js';
import { DEFAULT_RETRY, deliver, type AttemptResult, type Outcome, type RetrySettings } from './delivery.js';
import { waitUntil } from './wait-until.js';

export interface EventarcBridgeOptions {
  pubsub: PubSub;
  projectId: string;
  /** The subscription on the storage notification topic. */
  storageSubscription: string;
  retry?: Partial<RetrySettings>;
  logger?: Logger;
  /** Messages in flight per subscription (the client's flow control). */
  maxInFlight?: number;
}

export interface DeliveryRecord {
  /** The CloudEvent id (the Pub/Sub message id). */
  ceId: string;
  type: string;
  source: string;
  subject?: string;
  url: string;
  subscription: string;
  /** deliveryAttempt of the Pub/Sub message when it has a dead-letter policy, else 0. */
  pubsubDeliveryAttempt: number;
  outcome: Outcome;
  attempts: AttemptResult[];
  httpStatus?: number;
  error?: string;
  finishedAt: number;
}

interface Route {
  url: string;
  bucket?: string;
}

interface Source {
  subscription: Subscription;
  routes: Route[];
  toEvent: (msg: Message) => HttpCloudEvent | undefined;
  /** Storage notifications are filtered by bucket; topic routes take everything. */
  matches: (msg: Message, route: Route) => boolean;
}

export class EventarcBridge {
  private readonly settings: RetrySettings;
  private readonly log: Logger;
  private readonly sources = new Map<string, Source>();
  private readonly records: DeliveryRecord[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private readonly waiters = new Set<() => void>();
  private stopping: Promise<void> | undefined;

  constructor(private readonly opts: EventarcBridgeOptions) {
    this.settings = { ...DEFAULT_RETRY, ...opts.retry };
    this.log = opts.logger ?? createLogger({ component: 'localcloud.eventarc', level: 'warn' });
  }

  /**
   * Send `object.v1.finalized` events to `url`, for every bucket or only `bucket`. The first
   * route starts the pull, so notifications that arrived before any function was up wait in
   * the subscription instead of being lost.
   */
  routeStorage(url: string, filter: { bucket?: string } = {}): void {
    const name = this.opts.storageSubscription;
    const source = this.source(name, storageFinalizedEvent, (msg, route) => route.bucket === undefined || route.bucket === notificationBucket(msg));
    source.routes.push({ url, ...(filter.bucket !== undefined && { bucket: filter.bucket }) });
  }

  /**
   * Send `topic.v1.messagePublished` events for `topic` to `url`, read from `subscription`
   * (created when missing). Like Eventarc, each trigger needs a subscription of its own.
   */
  async routeTopic(topic: string, url: string, subscription = `eventarc-${topic}`): Promise<void> {
    const sub = this.opts.pubsub.subscription(subscription);
    const [exists] = await sub.exists();
    if (!exists) await this.opts.pubsub.createSubscription(topic, subscription, { ackDeadlineSeconds: 60 }).catch(ignoreCode(6));
    const source = this.source(subscription, (msg) => messagePublishedEvent(msg, this.opts.projectId, topic, subscription), () => true);
    source.routes.push({ url });
  }

  /** Every final outcome so far, oldest first. */
  deliveries(): readonly DeliveryRecord[] {
    return [...this.records];
  }

  /** Messages received and not yet acked or nacked (deliveries in progress or in backoff). */
  pending(): number {
    return this.inFlight.size;
  }

  /** Resolves with the records once `predicate` holds for them; rejects after `timeoutMs`. */
  waitForDeliveries(predicate: (records: readonly DeliveryRecord[]) => boolean, timeoutMs = 30_000): Promise<readonly DeliveryRecord[]> {
    return waitUntil(this.waiters, () => (predicate(this.records) ? this.deliveries() : undefined), timeoutMs, () => `timed out after ${timeoutMs} ms waiting for deliveries; have ${JSON.stringify(this.records.map(summary))}`);
  }

  /** Abort retries (their messages are nacked), close every stream. Idempotent. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      this.abort.abort();
      await Promise.allSettled([...this.inFlight]);
      await Promise.allSettled([...this.sources.values()].map((s) => s.subscription.close()));
    })();
    return this.stopping;
  }

  private source(name: string, toEvent: Source['toEvent'], matches: Source['matches']): Source {
    if (this.stopping) throw new Error('the Eventarc bridge is stopped');
    const existing = this.sources.get(name);
    if (existing) return existing;
    const subscription = this.opts.pubsub.subscription(name, {
      flowControl: { maxMessages: this.opts.maxInFlight ?? 100, allowExcessMessages: false },
    });
    const source: Source = { subscription, routes: [], toEvent, matches };
    subscription.on('message', (msg: Message) => this.track(this.handle(source, name, msg)));
    // Without a listener the client's stream errors would crash the process.
    subscription.on('error', (err: Error) => this.log.error({ event: 'eventarc.subscription_error', subscription: name, err }, 'subscription error'));
    this.sources.set(name, source);
    return source;
  }

  private track(p: Promise<void>): void {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
  }

  private async handle(source: Source, subscriptionName: string, msg: Message): Promise<void> {
    const event = source.toEvent(msg);
    const routes = event ? source.routes.filter((r) => source.matches(msg, r)) : [];
    if (!event || routes.length === 0) {
      this.log.debug({ event: 'eventarc.ignored', subscription: subscriptionName, messageId: msg.id, attributes: msg.attributes }, 'no route for message');
      msg.ack();
      return;
    }
    const results = await Promise.all(
      routes.map(async (route) => {
        const result = await deliver(event, route.url, this.settings, this.abort.signal);
        if (result.outcome !== 'aborted') this.record(event, route.url, subscriptionName, msg, result);
        return result.outcome;
      }),
    );
    if (results.includes('aborted')) msg.nack();
    else msg.ack();
  }

  private record(event: HttpCloudEvent, url: string, subscription: string, msg: Message, result: Awaited<ReturnType<typeof deliver>>): void {
    const rec: DeliveryRecord = {
      ceId: event.id,
      type: event.type,
      source: event.source,
      ...(event.subject !== undefined && { subject: event.subject }),
      url,
      subscription,
      pubsubDeliveryAttempt: msg.deliveryAttempt,
      finishedAt: Date.now(),
      ...result,
    };
    this.records.push(rec);
    const fields = { event: `eventarc.${rec.outcome}`, ...summary(rec), error: rec.error };
    if (rec.outcome === 'delivered') this.log.info(fields, 'event delivered');
    else this.log.error(fields, rec.outcome === 'failed' ? `event delivery failed after ${rec.attempts.length} attempts` : 'event dropped: the delivery failed and retries are off');
    for (const waiter of [...this.waiters]) waiter();
  }
}

function summary(r: DeliveryRecord): Record<string, unknown> {
  return { ceId: r.ceId, type: r.type, subject: r.subject ?? r.source, url: r.url, outcome: r.outcome, attempts: r.attempts.length, httpStatus: r.httpStatus };
}

function ignoreCode(code: number): (err: unknown) => void {
  return (err) => {
    if ((err as { code?: unknown }).code !== code) throw err;
  };
}
