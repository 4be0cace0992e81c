import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { main } from '../../../gpu-worker/main.js';
import { PermanentError } from '../../../shared/errors.js';
import { FakePipeline } from './fakes.js';

const ENV = {
  GOOGLE_CLOUD_PROJECT: 'petcutout-local',
  UPLOADS_BUCKET: 'uploads-bkt',
  RESULTS_BUCKET: 'results-bkt',
  WORKER_MODE: 'push',
  PORT: '0',
  LOG_LEVEL: 'silent',
  PUBSUB_EMULATOR_HOST: '127.0.0.1:1',
  STORAGE_EMULATOR_HOST: 'http://127.0.0.1:1',
};

class Exited extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}
const exit = (code: number): never => {
  throw new Exited(code);
};

describe('main: HTTP first, then the model', () => {
  it('answers /healthz and a 503 /readyz while the model loads, then 200 with the model', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const pipeline = new FakePipeline();
    const { worker, port, ready } = await main(ENV, { exit, createPipeline: async () => (await gate, pipeline) });
    const base = `http://127.0.0.1:${port}`;
    try {
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      const before = await fetch(`${base}/readyz`);
      assert.equal(before.status, 503);
      assert.equal(before.headers.get('retry-after'), '5');
      release();
      await ready;
      const after = await fetch(`${base}/readyz`);
      assert.equal(after.status, 200);
      assert.deepEqual(await after.json(), { status: 'ready', model: 'fake-model', provider: 'cpu' });
      assert.equal(pipeline.warmups, 1, 'warmed before ready');
    } finally {
      await worker.stop('test');
    }
    assert.equal(pipeline.closed, true);
  });

  it('exits 1 on a fatal model error (bad checksum) while /healthz kept answering', async () => {
    let fail: (err: Error) => void = () => {};
    const loading = new Promise<never>((_, reject) => (fail = reject));
    const { worker, port, ready } = await main(ENV, { exit, createPipeline: () => loading });
    try {
      assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
      fail(new PermanentError('model_checksum', 'sha256 of model.onnx is 00ab…, expected 9d1c…'));
      await assert.rejects(ready, (err: unknown) => err instanceof Exited && err.code === 1);
      const r = await fetch(`http://127.0.0.1:${port}/readyz`);
      assert.equal(r.status, 503);
      assert.match(((await r.json()) as { reason: string }).reason, /model_checksum/);
    } finally {
      await worker.stop('test');
    }
  });

  it('exits 78 with every bad variable listed', async () => {
    await assert.rejects(main({ ...ENV, WORKER_MODE: 'poll', GOOGLE_CLOUD_PROJECT: '' }, { exit }), (err: unknown) => err instanceof Exited && err.code === 78);
  });
});
