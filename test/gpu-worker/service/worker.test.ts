import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Worker } from '../../../gpu-worker/service/worker.js';
import { FakeBlobStore, FakePipeline, FakePublisher, fakeStatusStore, jobMessage, RESULTS, silentLogger, UPLOADS } from './fakes.js';

async function until(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('Worker: jobs at once', () => {
  it('never runs more than maxConcurrentJobs, however many deliveries arrive (push mode)', async () => {
    const store = new FakeBlobStore();
    const pipeline = new FakePipeline();
    let open: () => void = () => {};
    pipeline.gate = new Promise<void>((r) => (open = r));
    const worker = new Worker(
      { mode: 'push', port: 0, host: '127.0.0.1', resultsBucket: RESULTS, uploadsBucket: 'uploads-bkt', eventSource: '//test', cacheEnabled: false, shutdownGraceMs: 1000, maxDeliveryAttempts: 5, maxConcurrentJobs: 2, warmupBeforeReady: false },
      { store, statusStore: fakeStatusStore().store, completions: new FakePublisher(), deadLetters: new FakePublisher(), loadPipeline: async () => pipeline, isFatalLoadError: () => true },
      silentLogger(),
    );
    const port = await worker.listen();
    try {
      await worker.loadModel();
      const jobIds = Array.from({ length: 5 }, (_, i) => `a${i}`.padEnd(32, '0'));
      const posts = jobIds.map((jobId) => {
        const generation = store.put(UPLOADS, `uploads/${jobId}/original`, Buffer.from(`photo ${jobId}`), 'image/jpeg');
        const envelope = { message: { data: Buffer.from(JSON.stringify(jobMessage({ jobId, generation }))).toString('base64'), attributes: {}, messageId: jobId, publishTime: '2026-11-23T18:00:00Z' }, subscription: 'projects/p/subscriptions/jobs' };
        return fetch(`http://127.0.0.1:${port}/pubsub/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(envelope) });
      });
      await until(() => pipeline.calls.length === 2, 'two jobs in the pipeline');
      await until(() => worker.dispatcher.queued === 3, 'three deliveries waiting');
      await new Promise((r) => setTimeout(r, 50));
      assert.equal(pipeline.calls.length, 2, 'the other three wait for a slot');
      assert.equal(worker.dispatcher.size, 2);
      open();
      const statuses = await Promise.all(posts.map(async (p) => (await p).status));
      assert.ok(statuses.every((s) => s >= 200 && s < 300), `every push acked: ${statuses.join(',')}`);
      assert.equal(pipeline.calls.length, 5);
    } finally {
      await worker.stop('test');
    }
  });
});
