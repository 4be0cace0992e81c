import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Dispatcher } from '../../../gpu-worker/service/dispatcher.js';
import type { Delivery, Verdict } from '../../../gpu-worker/service/ports.js';

const delivery = (id: string): Delivery => ({ data: Buffer.from('{}'), attributes: {}, messageId: id, deliveryAttempt: 1 });

/** A handler whose jobs end when the test says so; records start order and peak concurrency. */
function gatedHandler() {
  const started: string[] = [];
  const release = new Map<string, (v: Verdict) => void>();
  let running = 0;
  let peak = 0;
  const handler = (d: Delivery): Promise<Verdict> => {
    started.push(d.messageId);
    running++;
    peak = Math.max(peak, running);
    return new Promise<Verdict>((resolve) => release.set(d.messageId, resolve)).finally(() => running--);
  };
  const finish = (id: string, v: Verdict = 'ack'): void => {
    const r = release.get(id);
    if (!r) throw new Error(`${id} has not started`);
    r(v);
  };
  return { handler, started, finish, peak: () => peak };
}

const settle = () => new Promise((r) => setImmediate(r));

describe('Dispatcher: a hard limit on jobs at once', () => {
  it('runs at most maxConcurrent jobs; the rest wait and start in arrival order as slots free', async () => {
    const h = gatedHandler();
    const counts: number[] = [];
    const d = new Dispatcher(h.handler, (n) => counts.push(n), 2);
    const verdicts = ['a', 'b', 'c', 'd', 'e'].map((id) => d.dispatch(delivery(id)));
    await settle();
    assert.deepEqual(h.started, ['a', 'b']);
    assert.equal(d.size, 2);
    assert.equal(d.queued, 3);
    h.finish('b');
    await settle();
    assert.deepEqual(h.started, ['a', 'b', 'c']);
    h.finish('a', 'nack');
    h.finish('c');
    await settle();
    assert.deepEqual(h.started, ['a', 'b', 'c', 'd', 'e']);
    h.finish('d');
    h.finish('e');
    assert.deepEqual(await Promise.all(verdicts), ['nack', 'ack', 'ack', 'ack', 'ack']);
    assert.equal(h.peak(), 2);
    assert.ok(Math.max(...counts) <= 2, `in-flight gauge never above the limit: ${counts.join(',')}`);
    assert.equal(d.size, 0);
    assert.equal(d.queued, 0);
  });

  it('a slot handed to a waiting delivery cannot be taken by a newer one', async () => {
    const h = gatedHandler();
    const d = new Dispatcher(h.handler, () => undefined, 1);
    void d.dispatch(delivery('first'));
    void d.dispatch(delivery('waiting'));
    await settle();
    h.finish('first');
    // Arrives in the same turn as the handover, before the waiting delivery's continuation runs.
    void d.dispatch(delivery('newcomer'));
    await settle();
    assert.deepEqual(h.started, ['first', 'waiting']);
    assert.equal(h.peak(), 1);
    h.finish('waiting');
    await settle();
    assert.deepEqual(h.started, ['first', 'waiting', 'newcomer']);
  });

  it('on drain, deliveries still waiting are nacked without running; running ones finish', async () => {
    const h = gatedHandler();
    const d = new Dispatcher(h.handler, () => undefined, 1);
    const running = d.dispatch(delivery('running'));
    const waiting = d.dispatch(delivery('waiting'));
    await settle();
    const drained = d.drain(5000);
    assert.equal(await waiting, 'nack');
    h.finish('running');
    assert.equal(await running, 'ack');
    assert.deepEqual(await drained, { finished: 1, abandoned: 0 });
    assert.deepEqual(h.started, ['running'], 'the waiting delivery never reached the handler');
    assert.equal(await d.dispatch(delivery('late')), 'nack');
  });

  it('refuses a limit below 1', () => {
    assert.throws(() => new Dispatcher(async () => 'ack', () => undefined, 0), /at least 1/);
  });
});
