/**
 * A fulfilment-system stand-in: its own subscription on the completions topic, decoding each
 * binary-mode CloudEvent, so tests and the demo can wait for a job's event.
 */
import { randomBytes } from 'node:crypto';
import type { Message, PubSub, Subscription } from '@google-cloud/pubsub';
import type { CompletionEvent } from '../../schemas/completion.js';
import { fromPubSubMessage } from '../../shared/completion.js';
import { waitUntil } from './wait-until.js';

export interface ReceivedEvent {
  event: CompletionEvent;
  receivedAt: number;
  messageId: string;
}

export class CompletionListener {
  readonly received: ReceivedEvent[] = [];
  readonly undecodable: string[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(private readonly subscription: Subscription) {
    subscription.on('message', (m: Message) => {
      try {
        this.received.push({ event: fromPubSubMessage(m), receivedAt: Date.now(), messageId: m.id });
      } catch (err) {
        this.undecodable.push((err as Error).message);
      }
      m.ack();
      for (const w of this.waiters) w();
    });
  }

  /** Subscribes before anything is published, so no event is missed. */
  static async start(pubsub: PubSub, topic: string): Promise<CompletionListener> {
    const name = `completions-listener-${randomBytes(4).toString('hex')}`;
    const [subscription] = await pubsub.createSubscription(topic, name, { ackDeadlineSeconds: 30 });
    return new CompletionListener(pubsub.subscription(subscription.name, { flowControl: { maxMessages: 1000 } }));
  }

  forJob(jobId: string): ReceivedEvent[] {
    return this.received.filter((r) => r.event.data.jobId === jobId);
  }

  /** The first event for the job (receivedAt is when this process saw it). */
  waitFor(jobId: string, timeoutMs = 120_000): Promise<ReceivedEvent> {
    return waitUntil(this.waiters, () => this.forJob(jobId)[0], timeoutMs, () => `no completion event for job ${jobId} within ${timeoutMs} ms`);
  }

  async stop(): Promise<void> {
    await this.subscription.close();
    await this.subscription.delete().catch(() => undefined);
  }
}
