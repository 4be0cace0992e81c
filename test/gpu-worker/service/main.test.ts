import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runWorker } from '../../../gpu-worker/main.js';
import { PermanentError } from '../../../shared/errors.js';
import { FakePipeline } from './fakes.js';
import { exit, Exited, WORKER_TEST_ENV } from './run-worker-support.js';

const ENV = WORKER_TEST_ENV;

async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('runWorker: HTTP first, then the model', () => {
  it('answers /healthz and a 503 /readyz while the model loads, then 200 with the model', async () => {
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const pipeline = new FakePipeline();
    const { worker, port, ready, warm } = await runWorker({ ...ENV, WARMUP_BEFORE_READY: 'true' }, { exit, createPipeline: async () => (await gate, pipeline) });
    const base = `http://127.0.0.1:${port}`;
    try {
      assert.equal((await fetch(`${base}/healthz`)).status, 200);
      const before = await fetch(`${base}/readyz`);
      assert.equal(before.status, 503);
      assert.equal(before.headers.get('retry-after'), '5');
      release();
      await ready;
      await warm;
      const after = await fetch(`${base}/readyz`);
      assert.equal(after.status, 200);
      assert.deepEqual(await after.json(), { status: 'ready', model: 'fake-model', provider: 'cpu', warm: true });
      assert.equal(pipeline.warmups, 1, 'warmed once');
    } finally {
      await worker.stop('test');
    }
    assert.equal(pipeline.closed, true);
  });

  it('with WARMUP_BEFORE_READY=false, is ready once the model is loaded, while the warm-up inference still runs (warm: false)', async () => {
    let release: () => void = () => {};
    const pipeline = new FakePipeline();
    pipeline.warmupGate = new Promise<void>((r) => (release = r));
    const { worker, port, ready, warm } = await runWorker({ ...ENV, WARMUP_BEFORE_READY: 'false' }, { exit, createPipeline: async () => pipeline });
    const base = `http://127.0.0.1:${port}`;
    try {
      await ready;
      const during = await fetch(`${base}/readyz`);
      assert.equal(during.status, 200);
      assert.deepEqual(await during.json(), { status: 'ready', model: 'fake-model', provider: 'cpu', warm: false });
      release();
      await warm;
      assert.equal(((await (await fetch(`${base}/readyz`)).json()) as { warm: boolean }).warm, true);
      assert.match(await (await fetch(`${base}/metrics`)).text(), /^petcutout_worker_model_warmup_seconds \d/m);
    } finally {
      await worker.stop('test');
    }
  });

  it('with WARMUP_BEFORE_READY=true, /readyz is 503 "warming" until the warm-up inference has run', async () => {
    let release: () => void = () => {};
    const pipeline = new FakePipeline();
    pipeline.warmupGate = new Promise<void>((r) => (release = r));
    const { worker, port, ready } = await runWorker({ ...ENV, WARMUP_BEFORE_READY: 'true' }, { exit, createPipeline: async () => pipeline });
    const base = `http://127.0.0.1:${port}`;
    try {
      await waitFor(() => pipeline.warmups === 1);
      const during = await fetch(`${base}/readyz`);
      assert.equal(during.status, 503);
      assert.equal(((await during.json()) as { status: string }).status, 'warming');
      release();
      await ready;
      assert.deepEqual(await (await fetch(`${base}/readyz`)).json(), { status: 'ready', model: 'fake-model', provider: 'cpu', warm: true });
    } finally {
      await worker.stop('test');
    }
  });

  for (const provider of ['cuda', 'webgpu'] as const) {
    it(`by default (WARMUP_BEFORE_READY=auto) on ${provider}, /readyz is 503 "warming" until the warm-up inference has run`, async () => {
      let release: () => void = () => {};
      const pipeline = new FakePipeline();
      Object.assign(pipeline.model, { provider });
      pipeline.warmupGate = new Promise<void>((r) => (release = r));
      const { worker, port, ready, warm } = await runWorker(ENV, { exit, createPipeline: async () => pipeline });
      const base = `http://127.0.0.1:${port}`;
      try {
        await waitFor(() => pipeline.warmups === 1);
        // Give a wrongly un-held readiness time to flip before looking.
        await new Promise((r) => setTimeout(r, 50));
        const during = await fetch(`${base}/readyz`);
        assert.equal(during.status, 503);
        assert.equal(((await during.json()) as { status: string }).status, 'warming');
        release();
        await ready;
        await warm;
        assert.deepEqual(await (await fetch(`${base}/readyz`)).json(), { status: 'ready', model: 'fake-model', provider, warm: true });
      } finally {
        await worker.stop('test');
      }
    });
  }

  it('by default (WARMUP_BEFORE_READY=auto) on cpu, is ready once loaded and runs no warm-up (the first run costs what any run costs)', async () => {
    const pipeline = new FakePipeline();
    const { worker, port, ready, warm } = await runWorker(ENV, { exit, createPipeline: async () => pipeline });
    try {
      await ready;
      await warm;
      assert.deepEqual(await (await fetch(`http://127.0.0.1:${port}/readyz`)).json(), { status: 'ready', model: 'fake-model', provider: 'cpu', warm: true });
      assert.equal(pipeline.warmups, 0, 'no warm-up inference on CPU under auto');
      assert.match(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text(), /^petcutout_worker_model_warmup_seconds 0$/m);
    } finally {
      await worker.stop('test');
    }
  });

  it('rejects a WARMUP_BEFORE_READY that is not auto, true or false, before binding a port', async () => {
    await assert.rejects(runWorker({ ...ENV, WARMUP_BEFORE_READY: 'sometimes' }, { exit, createPipeline: async () => new FakePipeline() }), (err: unknown) => err instanceof Exited && err.code === 78);
  });

  it('exits 1 when the background warm-up inference fails (a model that cannot run once is broken)', async () => {
    const pipeline = new FakePipeline();
    pipeline.warmupFail = new Error('CUDA out of memory');
    const { worker, port, warm } = await runWorker({ ...ENV, WARMUP_BEFORE_READY: 'false' }, { exit, createPipeline: async () => pipeline });
    try {
      await assert.rejects(warm, (err: unknown) => err instanceof Exited && err.code === 1);
      const r = await fetch(`http://127.0.0.1:${port}/readyz`);
      assert.equal(r.status, 503);
      assert.match(((await r.json()) as { reason: string }).reason, /warm-up inference failed: CUDA out of memory/);
    } finally {
      await worker.stop('test');
    }
  });

  it('exits 1 on a fatal model error (bad checksum) while /healthz kept answering', async () => {
    let fail: (err: Error) => void = () => {};
    const loading = new Promise<never>((_, reject) => (fail = reject));
    const { worker, port, ready } = await runWorker(ENV, { exit, createPipeline: () => loading });
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
    await assert.rejects(runWorker({ ...ENV, WORKER_MODE: 'poll', GOOGLE_CLOUD_PROJECT: '' }, { exit }), (err: unknown) => err instanceof Exited && err.code === 78);
  });
});
