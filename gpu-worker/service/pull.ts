import type { Duration, SubscriberOptions } from '@google-cloud/pubsub';
import type { Logger } from '../../shared/logger.js';
import type { Dispatcher } from './dispatcher.js';
import { EVENTS } from '../log-events.js';

/** The part of the official client's Message the consumer uses. */
export interface PulledMessage {
  id: string;
  data: Buffer;
  attributes: Record<string, string>;
  deliveryAttempt: number;
  ack(): void;
  nack(): void;
}

/** The part of the official client's Subscription the consumer uses. */
export interface SubscriptionLike {
  on(event: 'message', listener: (message: PulledMessage) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  close(): Promise<void>;
}

export interface PullSettings {
  concurrency: number;
  /** The pipeline's MAX_BATCH_SIZE: fewer leased messages than that could never fill a batch. */
  maxBatchSize: number;
  maxJobSeconds: number;
  shutdownGraceMs: number;
}

// The lease a message gets. The official client sends, on receipt and then at random points
// up to 0.9 x deadline, a modAck of max(MIN, min(MAX, p99 of this process's ack times)); the
// stream's own ack deadline is the value at stream start (MIN in a fresh process). A worker
// killed outright therefore leaves its jobs leased for at most MAX_ACK_DEADLINE_S (at least
// 0.1 x the deadline); the default cap (600 s) would leave them for up to ten minutes. Live
// jobs keep their lease: the client extends it for as long as the process lives, up to
// maxExtensionTime below. MIN: a crashed worker's job comes back quickly; MAX: slow CPU jobs
// extend once a minute. (Issue 17 item 8: the long stalls seen after a SIGKILL were the
// emulator's, not this lease: the killed client's last modAcks were 10 s.)
const MIN_ACK_DEADLINE_S = 10;
const MAX_ACK_DEADLINE_S = 60;
// Leave room past the slowest job for a queue wait behind a full batch.
const EXTENSION_MARGIN_S = 60;
// The client subtracts 1 s from the close timeout to send its final nacks.
const CLOSE_NACK_FLUSH_MS = 1000;

/**
 * Options for `subscription(name, options)`. The stream pauses once max(concurrency, batch
 * size) messages are leased. Messages the server sends past that (the emulator ignores flow
 * control; Pub/Sub may overshoot) are leased either way; allowExcessMessages: true hands them
 * to the dispatcher, which queues them and nacks them at once on SIGTERM. With false the client
 * kept them itself, never handed them over once the stream closed, and its WAIT close then
 * waited for them until its timeout: every drain lasted the whole grace period. One stream
 * is plenty for a few messages and keeps the server from spreading this instance's quota
 * over five. `duration` is the client's own
 * Duration class, passed in so this module does not load the client (main.ts imports it late).
 */
/**
 * Jobs one worker handles at once: the concurrency, or a whole batch if that is larger. The
 * subscriber leases this many and the dispatcher runs no more, whatever the client does.
 * @example jobsAtOnce(4, 8) // 8
 */
export function jobsAtOnce(concurrency: number, maxBatchSize: number): number {
  return Math.max(concurrency, maxBatchSize);
}

/** The lease bounds above, for tests of what the client makes of them. */
export const ACK_DEADLINE_BOUNDS_S = { min: MIN_ACK_DEADLINE_S, max: MAX_ACK_DEADLINE_S } as const;

export function subscriberOptions(s: PullSettings, duration: Pick<typeof Duration, 'from'>): SubscriberOptions {
  return {
    flowControl: { maxMessages: jobsAtOnce(s.concurrency, s.maxBatchSize), allowExcessMessages: true },
    minAckDeadline: duration.from({ seconds: MIN_ACK_DEADLINE_S }),
    maxAckDeadline: duration.from({ seconds: MAX_ACK_DEADLINE_S }),
    maxExtensionTime: duration.from({ seconds: s.maxJobSeconds + EXTENSION_MARGIN_S }),
    streamingOptions: { maxStreams: 1 },
    closeOptions: { behavior: 'WAIT', timeout: duration.from({ milliseconds: s.shutdownGraceMs + CLOSE_NACK_FLUSH_MS }) },
  };
}

/** Streaming pull: each message goes through the dispatcher and is acked or nacked by its verdict. */
export class PullConsumer {
  private started = false;

  constructor(
    private readonly subscription: SubscriptionLike,
    private readonly dispatcher: Dispatcher,
    private readonly log: Logger,
  ) {}

  start(): void {
    if (this.started) return;
    this.started = true;
    this.subscription.on('message', (m) => void this.onMessage(m));
    // The client reconnects streams itself; an error here is worth a log line, not a crash.
    this.subscription.on('error', (err) => this.log.error({ event: EVENTS.pull.error, err }, 'subscription error'));
    this.log.info({ event: EVENTS.pull.started }, 'streaming pull started');
  }

  /**
   * Stops the streams at once (no new messages); the client keeps leasing the held ones
   * while the dispatcher drains, then nacks whatever is left.
   */
  async stop(): Promise<void> {
    if (!this.started) return;
    await this.subscription.close();
  }

  private async onMessage(m: PulledMessage): Promise<void> {
    const verdict = await this.dispatcher.dispatch({ data: m.data, attributes: m.attributes, messageId: m.id, deliveryAttempt: m.deliveryAttempt });
    if (verdict === 'ack') m.ack();
    else m.nack();
  }
}
