import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it, mock } from 'node:test';
import { Dispatcher } from '../../../gpu-worker/service/dispatcher.js';
import type { Delivery, Verdict } from '../../../gpu-worker/service/ports.js';
import { Duration, PubSub } from '@google-cloud/pubsub';
import { PullConsumer, subscriberOptions, type PulledMessage, type SubscriptionLike } from '../../../gpu-worker/service/pull.js';
import { Readiness } from '../../../gpu-worker/service/readiness.js';
import { Shutdown } from '../../../gpu-worker/service/shutdown.js';
import { silentLogger } from './fakes.js';
import { startPubsubEmulator, type PubsubEmulator } from '../../localcloud/pubsub.js';

/** A job that finishes after `ms` of (fake) time with `verdict`. */
function timedHandler(durations: Record<string, number>) {
  return (d: Delivery): Promise<Verdict> => new Promise((resolve) => setTimeout(() => resolve('ack'), durations[d.messageId] ?? 0));
}
const flush = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

class FakeSubscription implements SubscriptionLike {
  private listener: ((m: PulledMessage) => void) | undefined;
  closed = false;
  on(event: 'message' | 'error', listener: never): this {
    if (event === 'message') this.listener = listener;
    return this;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
  deliver(id: string): { acked: boolean; nacked: boolean } {
    const m = { acked: false, nacked: false };
    this.listener?.({ id, data: Buffer.from('{}'), attributes: {}, deliveryAttempt: 1, ack: () => void (m.acked = true), nack: () => void (m.nacked = true) });
    return m;
  }
}

describe('shutdown draining (fake timers)', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'] }));
  afterEach(() => mock.timers.reset());

  const cases = [
    { name: 'a job that ends inside the grace period is acked', jobMs: 3000, graceMs: 8000, acked: true, drained: { finished: 1, abandoned: 0 } },
    { name: 'a job still running at the end of the grace period is nacked', jobMs: 20_000, graceMs: 8000, acked: false, drained: { finished: 0, abandoned: 1 } },
    { name: 'a zero grace period nacks at once', jobMs: 1, graceMs: 0, acked: false, drained: { finished: 0, abandoned: 1 } },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const sub = new FakeSubscription();
      const dispatcher = new Dispatcher(timedHandler({ a: c.jobMs }));
      new PullConsumer(sub, dispatcher, silentLogger()).start();
      const msg = sub.deliver('a');
      const drain = dispatcher.drain(c.graceMs);
      mock.timers.tick(Math.min(c.jobMs, c.graceMs));
      assert.deepEqual(await drain, c.drained);
      await flush();
      assert.equal(msg.acked, c.acked);
      assert.equal(msg.nacked, !c.acked);
    });
  }

  it('runs the whole sequence once: readiness draining, new messages nacked, in-flight finished, everything closed', async () => {
    const sub = new FakeSubscription();
    const readiness = new Readiness();
    readiness.ready({ id: 'm', provider: 'cpu' });
    const dispatcher = new Dispatcher(timedHandler({ slow: 5000, fast: 100 }));
    const consumer = new PullConsumer(sub, dispatcher, silentLogger());
    consumer.start();
    const order: string[] = [];
    const shutdown = new Shutdown({
      log: silentLogger(),
      readiness,
      dispatcher,
      graceMs: 8000,
      stopConsuming: async () => {
        order.push('stop');
        await consumer.stop();
      },
      closeServer: async () => void order.push('server'),
      closePipeline: async () => void order.push('pipeline'),
    });
    const fast = sub.deliver('fast');
    const slow = sub.deliver('slow');
    const done = shutdown.run('SIGTERM');
    assert.equal(shutdown.run('SIGTERM'), done, 'a second signal joins the first shutdown');
    assert.equal(readiness.state.phase, 'draining');
    const late = sub.deliver('late');
    await flush();
    assert.equal(late.nacked, true, 'a message arriving after SIGTERM is nacked at once');
    mock.timers.tick(100);
    await flush();
    assert.equal(fast.acked, true);
    assert.equal(slow.acked, false);
    mock.timers.tick(4900);
    await done;
    assert.equal(slow.acked, true);
    assert.equal(sub.closed, true);
    assert.deepEqual(order, ['stop', 'server', 'pipeline']);
    assert.equal(dispatcher.size, 0);
  });
});

describe('subscriberOptions', () => {
  it('pauses at the concurrency, extends past the slowest job and waits for processing on close', () => {
    const o = subscriberOptions({ concurrency: 4, maxBatchSize: 2, maxJobSeconds: 300, shutdownGraceMs: 8000 }, Duration);
    assert.deepEqual(o.flowControl, { maxMessages: 4, allowExcessMessages: true }, 'extra messages reach the dispatcher, which nacks them on SIGTERM');
    assert.equal(subscriberOptions({ concurrency: 2, maxBatchSize: 8, maxJobSeconds: 300, shutdownGraceMs: 8000 }, Duration).flowControl?.maxMessages, 8, 'enough to fill a batch');
    assert.equal(o.maxExtensionTime?.seconds, 360);
    assert.equal(o.minAckDeadline?.seconds, 10);
    assert.equal(o.maxAckDeadline?.seconds, 60);
    assert.equal(o.closeOptions?.behavior, 'WAIT');
    assert.equal(o.closeOptions?.timeout?.milliseconds, 9000);
    assert.equal(o.streamingOptions?.maxStreams, 1);
  });
});

describe('shutdown against the official Pub/Sub emulator', () => {
  let emulator: PubsubEmulator;
  let pubsub: PubSub;
  before(async () => {
    emulator = await startPubsubEmulator();
    pubsub = new PubSub({ projectId: 'petcutout-local', apiEndpoint: emulator.host });
  });
  after(async () => {
    await pubsub?.close();
    await emulator?.stop();
  });

  // The emulator (and, now and then, real Pub/Sub) delivers more messages than the flow
  // control allows. Messages the client held back itself are never handed over once the
  // stream closes, so a WAIT close waited for them until its timeout: 8 s of grace took 8 s.
  it('exits once the in-flight jobs are finished and acked, not at the end of the grace period, with a backlog', async () => {
    const [topic] = await pubsub.createTopic(`drain-${Date.now().toString(36)}`);
    const [subscription] = await topic.createSubscription(`${topic.name.split('/').pop()}-sub`, { ackDeadlineSeconds: 10 });
    const graceMs = 8000;
    const jobMs = 2000;
    const settings = { concurrency: 2, maxBatchSize: 1, maxJobSeconds: 60, shutdownGraceMs: graceMs };
    const sub = pubsub.subscription(subscription.name, subscriberOptions(settings, Duration)) as unknown as SubscriptionLike;
    const started: string[] = [];
    const finished: string[] = [];
    let twoRunning: () => void = () => {};
    const running = new Promise<void>((resolve) => (twoRunning = resolve));
    const dispatcher = new Dispatcher(
      async (d) => {
        started.push(d.messageId);
        if (started.length === 2) twoRunning();
        await new Promise((r) => setTimeout(r, jobMs));
        finished.push(d.messageId);
        return 'ack';
      },
      () => {},
      2,
    );
    const consumer = new PullConsumer(sub, dispatcher, silentLogger());
    const readiness = new Readiness();
    readiness.ready({ id: 'm', provider: 'cpu' });
    const shutdown = new Shutdown({ log: silentLogger(), readiness, dispatcher, graceMs, stopConsuming: () => consumer.stop(), closeServer: async () => {}, closePipeline: async () => {} });
    for (let i = 0; i < 6; i++) await topic.publishMessage({ data: Buffer.from(String(i)) });
    consumer.start();
    await running;
    const t0 = performance.now();
    await shutdown.run('SIGTERM');
    const tookMs = performance.now() - t0;
    assert.equal(finished.length, 2, 'both in-flight jobs finished');
    assert.ok(tookMs < jobMs + 1500, `shutdown took ${Math.round(tookMs)} ms with ${jobMs} ms jobs and ${graceMs} ms of grace`);

    // The two finished jobs were acked; the four others come back to the next worker at once.
    const next = pubsub.subscription(subscription.name);
    const redelivered = new Set<string>();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only ${redelivered.size} messages came back`)), 15_000);
      next.on('message', (m: { id: string; ack(): void }) => {
        redelivered.add(m.id);
        m.ack();
        if (redelivered.size === 4) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    await next.close();
    for (const id of finished) assert.ok(!redelivered.has(id), `acked message ${id} was delivered again`);
  });
});
