/**
 * The batch-consistency check as the worker reports it (issue 18): the model loads on the
 * pipeline thread, and the verdict must reach the main thread's /readyz and metrics; with
 * REQUIRE_BATCHING=true a refused batch is a startup failure.
 */
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runWorker } from '../../../gpu-worker/main.js';
import { buildTinyModel, tinySpec, writeModelFile, type TinyModelOptions } from '../../support/tiny-model.js';
import { exit, Exited, WORKER_TEST_ENV } from './run-worker-support.js';

const ENV = {
  ...WORKER_TEST_ENV,
  EXECUTION_PROVIDER: 'cpu',
  INTRA_OP_THREADS: '1',
  MAX_BATCH_SIZE: '4',
  PIPELINE_THREAD: 'true',
};

async function modelEnv(options: TinyModelOptions): Promise<Record<string, string>> {
  const dir = await mkdtemp(join(tmpdir(), 'batch-worker-'));
  const spec = join(dir, 'spec.json');
  await writeFile(spec, JSON.stringify(tinySpec({ size: 32, ...options })));
  return { MODEL_SPEC: spec, MODEL_URI: await writeModelFile(buildTinyModel({ size: 32, ...options })), MODEL_CACHE_DIR: dir };
}

describe('worker: the batch check, from the pipeline thread to /readyz and /metrics', () => {
  const cases = [
    { name: 'an honest dynamic batch: batched', model: {}, check: 'passed', maxBatchSize: 4 },
    { name: 'a batch frozen to 1: refused and unbatched', model: { batchOfOneReshape: true }, check: 'failed', maxBatchSize: 1 },
    { name: 'a static batch: unbatched, no check', model: { dynamicBatch: false }, check: 'static_batch', maxBatchSize: 1 },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const { worker, port, ready } = await runWorker({ ...ENV, ...(await modelEnv(c.model)) }, { exit });
      try {
        await ready;
        const readyz = (await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as { status: string; batching?: { check: string; maxBatchSize: number } };
        assert.equal(readyz.status, 'ready');
        assert.equal(readyz.batching?.check, c.check);
        assert.equal(readyz.batching?.maxBatchSize, c.maxBatchSize);
        const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        assert.match(metrics, new RegExp(`^petcutout_worker_model_max_batch_size ${c.maxBatchSize}$`, 'm'));
        assert.match(metrics, new RegExp(`^petcutout_worker_model_batch_check\\{result="${c.check}"\\} 1$`, 'm'));
        assert.match(metrics, /^petcutout_worker_model_batch_check\{result="failed"\} [01]$/m, 'the failed series exists either way');
      } finally {
        await worker.stop('test');
      }
    });
  }

  it('REQUIRE_BATCHING=true turns a refused batch into a startup failure naming the problem and the fix', async () => {
    const { worker, port, ready } = await runWorker({ ...ENV, REQUIRE_BATCHING: 'true', ...(await modelEnv({ batchOfOneReshape: true })) }, { exit });
    try {
      await assert.rejects(ready, (err: unknown) => err instanceof Exited && err.code === 1);
      const r = await fetch(`http://127.0.0.1:${port}/readyz`);
      assert.equal(r.status, 503);
      const { reason } = (await r.json()) as { reason: string };
      assert.match(reason, /model_contract/);
      assert.match(reason, /mixes the images of a batch/);
      assert.match(reason, /docs\/model-export\.md/);
      assert.match(reason, /REQUIRE_BATCHING=true/);
    } finally {
      await worker.stop('test');
    }
  });
});
