import type { Duration, SubscriberOptions } from '@google-cloud/pubsub';
import type { Logger } from '../../shared/logger.js';
import type { Dispatcher } from './dispatcher.js';

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

// The client starts at 10 s and moves the deadline towards its p99 of processing time; a
// low floor means a crashed worker's job is redelivered quickly, a cap of a minute keeps
// lease extension traffic low for slow CPU jobs.
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
    this.subscription.on('error', (err) => this.log.error({ event: 'pull.error', err }, 'subscription error'));
    this.log.info({ event: 'pull.started' }, 'streaming pull started');
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
