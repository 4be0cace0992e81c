import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FifoGate } from '../../shared/fifo-gate.js';

/** A task the test finishes by hand, recording when it started. */
function task(log: string[], name: string) {
  let finish: (v?: unknown) => void = () => {};
  let fail: (e: Error) => void = () => {};
  const done = new Promise((resolve, reject) => ((finish = resolve), (fail = reject)));
  return { work: () => (log.push(`start ${name}`), done), finish: () => finish(), fail: (e: Error) => fail(e) };
}
const turn = () => new Promise((r) => setImmediate(r));

describe('FifoGate', () => {
  it('admits up to the limit, then one per freed slot in call order', async () => {
    const log: string[] = [];
    const gate = new FifoGate(2);
    const t = ['a', 'b', 'c', 'd'].map((n) => task(log, n));
    const runs = t.map((x) => gate.run(x.work));
    await turn();
    assert.deepEqual(log, ['start a', 'start b']);
    assert.deepEqual([gate.running, gate.queued], [2, 2]);
    t[1]!.finish();
    await turn();
    assert.deepEqual(log, ['start a', 'start b', 'start c']);
    t[0]!.finish();
    await turn();
    assert.deepEqual(log.at(-1), 'start d');
    t[2]!.finish();
    t[3]!.finish();
    await Promise.all(runs);
    assert.deepEqual([gate.running, gate.queued], [0, 0]);
  });

  it('a failed task frees its slot and its caller sees the error', async () => {
    const log: string[] = [];
    const gate = new FifoGate(1);
    const a = task(log, 'a');
    const b = task(log, 'b');
    const ra = gate.run(a.work);
    const rb = gate.run(b.work);
    a.fail(new Error('encode failed'));
    await assert.rejects(ra, /encode failed/);
    await turn();
    assert.deepEqual(log, ['start a', 'start b']);
    b.finish();
    await rb;
    assert.equal(gate.running, 0);
  });

  it('a newcomer never overtakes a waiting task when a slot frees', async () => {
    const log: string[] = [];
    const gate = new FifoGate(1);
    const a = task(log, 'a');
    const b = task(log, 'b');
    const c = task(log, 'c');
    void gate.run(a.work);
    void gate.run(b.work);
    a.finish();
    // c arrives in the same turn as a's slot is handed to b.
    void gate.run(c.work);
    await turn();
    assert.deepEqual(log, ['start a', 'start b']);
    b.finish();
    await turn();
    assert.deepEqual(log, ['start a', 'start b', 'start c']);
    c.finish();
  });

  it('close refuses the waiting and later requests; held slots are released as usual', async () => {
    const log: string[] = [];
    const gate = new FifoGate(1);
    const a = task(log, 'a');
    const ra = gate.run(a.work);
    const waiting = gate.acquire();
    gate.close();
    assert.equal(await waiting, false);
    assert.equal(await gate.acquire(), false);
    assert.equal(gate.tryAcquire(), false);
    await assert.rejects(gate.run(async () => 'never'), /closed/);
    a.finish();
    await ra;
    assert.deepEqual([gate.running, gate.queued, log], [0, 0, ['start a']]);
  });

  it('tryAcquire takes a free slot at once, and never one somebody waits for', async () => {
    const gate = new FifoGate(1);
    assert.equal(gate.tryAcquire(), true);
    const next = gate.acquire();
    assert.equal(gate.tryAcquire(), false);
    gate.release();
    assert.equal(await next, true);
    assert.equal(gate.tryAcquire(), false, 'the slot went to the waiting request');
    gate.release();
    assert.equal(gate.running, 0);
  });

  it('refuses a limit below one; Infinity means no limit', () => {
    assert.throws(() => new FifoGate(0), /whole number >= 1/);
    assert.throws(() => new FifoGate(1.5), /whole number >= 1/);
    const open = new FifoGate(Number.POSITIVE_INFINITY);
    for (let i = 0; i < 1000; i++) assert.equal(open.tryAcquire(), true);
  });
});
