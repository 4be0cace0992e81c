import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InferenceBatcher } from '../../../gpu-worker/pipeline/batcher.js';

/** A run that records its batches and doubles each item, finishing when `release` is called. */
function recorder(delayMs = 5) {
  const batches: number[][] = [];
  const run = async (items: number[]): Promise<number[]> => {
    batches.push(items);
    await new Promise((r) => setTimeout(r, delayMs));
    return items.map((x) => x * 2);
  };
  return { batches, run };
}

describe('InferenceBatcher', () => {
  it('concurrent submissions share one run and each gets its own result', async () => {
    const { batches, run } = recorder();
    const b = new InferenceBatcher(run, { maxBatchSize: 4, maxWaitMs: 20 });
    const out = await Promise.all([1, 2, 3].map((x) => b.submit(x)));
    assert.deepEqual(batches, [[1, 2, 3]]);
    assert.deepEqual(
      out.map((o) => [o.result, o.batchSize]),
      [
        [2, 3],
        [4, 3],
        [6, 3],
      ],
    );
  });
  it('never exceeds maxBatchSize; the overflow runs right after', async () => {
    const { batches, run } = recorder();
    const b = new InferenceBatcher(run, { maxBatchSize: 2, maxWaitMs: 50 });
    await Promise.all([1, 2, 3, 4, 5].map((x) => b.submit(x)));
    assert.deepEqual(batches, [[1, 2], [3, 4], [5]]);
  });
  it('a full batch does not wait for the timer', async () => {
    const { run } = recorder(0);
    const b = new InferenceBatcher(run, { maxBatchSize: 2, maxWaitMs: 10_000 });
    const started = performance.now();
    await Promise.all([b.submit(1), b.submit(2)]);
    assert.ok(performance.now() - started < 1000);
  });
  it('an item waits at most maxWaitMs for an announced one that never comes', async () => {
    const { batches, run } = recorder(0);
    const b = new InferenceBatcher(run, { maxBatchSize: 8, maxWaitMs: 30 });
    b.expect(); // announced, never submitted
    const { queueMs, batchSize } = await b.submit(7);
    assert.equal(batchSize, 1);
    assert.ok(queueMs >= 25 && queueMs < 1000, `queued ${queueMs} ms`);
    assert.deepEqual(batches, [[7]]);
  });
  it('with nobody announced, a lone item runs at once, not after maxWaitMs', async () => {
    const { batches, run } = recorder(0);
    const b = new InferenceBatcher(run, { maxBatchSize: 8, maxWaitMs: 10_000 });
    const { queueMs, batchSize } = await b.submit(7);
    assert.equal(batchSize, 1);
    assert.ok(queueMs < 1000, `queued ${queueMs} ms`);
    assert.deepEqual(batches, [[7]]);
  });
  it('an item waits for one announced while it decodes, and they share a run', async () => {
    const { batches, run } = recorder(0);
    const b = new InferenceBatcher(run, { maxBatchSize: 8, maxWaitMs: 10_000 });
    const first = b.expect();
    const second = b.expect();
    const a = first.submit(1);
    await new Promise((r) => setTimeout(r, 40)); // the second image still decoding
    assert.deepEqual(batches, [], 'the run waited for the announced item');
    const c = second.submit(2);
    const [ra, rc] = await Promise.all([a, c]);
    assert.deepEqual(batches, [[1, 2]]);
    assert.equal(ra.batchSize, 2);
    assert.ok(ra.queueMs >= 35 && ra.queueMs < 5000, `first queued ${ra.queueMs} ms`);
    assert.ok(rc.queueMs < 1000, `second queued ${rc.queueMs} ms`);
  });
  it('cancelling an announced item releases the wait at once; a ticket counts once', async () => {
    const { batches, run } = recorder(0);
    const b = new InferenceBatcher(run, { maxBatchSize: 8, maxWaitMs: 10_000 });
    const failing = b.expect();
    const done = b.submit(1);
    setTimeout(() => {
      failing.cancel();
      failing.cancel(); // twice: still one ticket
    }, 20);
    const { queueMs } = await done;
    assert.ok(queueMs < 1000, `queued ${queueMs} ms after the cancel`);
    assert.deepEqual(batches, [[1]]);
    // The double cancel did not leave the count below zero: a new announcement still holds a
    // run. (After the first run has wound up: items queued during a run go as soon as it ends.)
    await new Promise((r) => setTimeout(r, 0));
    const later = b.expect();
    const next = b.submit(2);
    await new Promise((r) => setTimeout(r, 30));
    assert.deepEqual(batches, [[1]], 'waiting for the new announcement');
    later.cancel();
    await next;
    assert.deepEqual(batches, [[1], [2]]);
  });
  it('items arriving during a run form the next batch', async () => {
    const { batches, run } = recorder(30);
    const b = new InferenceBatcher(run, { maxBatchSize: 8, maxWaitMs: 0 });
    const first = b.submit(1);
    await new Promise((r) => setTimeout(r, 5));
    const later = [b.submit(2), b.submit(3)];
    await Promise.all([first, ...later]);
    assert.deepEqual(batches, [[1], [2, 3]]);
  });
  it('a failed run rejects every item of that batch only', async () => {
    let calls = 0;
    const b = new InferenceBatcher<number, number>(
      async (items) => {
        if (calls++ === 0) throw new Error('device lost');
        return items;
      },
      { maxBatchSize: 2, maxWaitMs: 10 },
    );
    const results = await Promise.allSettled([b.submit(1), b.submit(2), b.submit(3)]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected', 'fulfilled'],
    );
  });
  it('close finishes queued work and refuses new work', async () => {
    const { run } = recorder(5);
    const b = new InferenceBatcher(run, { maxBatchSize: 2, maxWaitMs: 1000 });
    const pending = b.submit(1);
    await b.close();
    assert.equal((await pending).result, 2);
    await assert.rejects(b.submit(2), /closed/);
  });
  it('validates its options like sharp does', () => {
    assert.throws(() => new InferenceBatcher(async (x) => x, { maxBatchSize: 1.5, maxWaitMs: 0 }), /Expected positive integer for maxBatchSize but received 1.5/);
  });
});
