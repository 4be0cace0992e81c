/**
 * The batch-consistency check (issue 18): a graph that declares a dynamic batch is batched only
 * once two inputs give the same maps batched and alone. Three tiny models, built in code:
 * an honest dynamic batch, a dynamic input behind a Reshape frozen to batch 1 (Swin's traced
 * window_reverse: a batch of 2 runs without an error and mixes the images), and a static batch.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BATCH_CHECK_MAX_ABS_DIFF, batchCheckInputs, compareBatchedWithSingle } from '../../../gpu-worker/model/batch-check.js';
import { loadModel, type ModelOptions } from '../../../gpu-worker/model/load.js';
import { pipelineForModel } from '../../../gpu-worker/pipeline/pipeline.js';
import { PermanentError } from '../../../shared/errors.js';
import { buildTinyModel, loadTinyModel, tinySpec, writeModelFile, type TinyModelOptions } from '../../support/tiny-model.js';
import { recordingLogger } from './support.js';

const SIZE = 32;

/** Load a tiny model the way the worker does (custom spec file, CPU), with batching as asked. */
async function load(model: TinyModelOptions, batching: Pick<ModelOptions, 'maxBatchSize' | 'requireBatching'>, logger = recordingLogger()) {
  const options = { size: SIZE, ...model };
  const dir = await mkdtemp(join(tmpdir(), 'batch-check-'));
  const specFile = join(dir, 'spec.json');
  await writeFile(specFile, JSON.stringify(tinySpec(options)));
  const uri = await writeModelFile(buildTinyModel(options));
  const loaded = await loadModel({ preset: 'isnet-general-1024', specFile, uri, cacheDir: dir, provider: 'cpu', requireGpu: false, intraOpThreads: 1, ...batching }, { logger });
  return { loaded, logger };
}

/** Two different photos' worth of bytes, processed at once: how many shared each run. */
async function batchSizesOfTwoJobs(model: Awaited<ReturnType<typeof loadModel>>): Promise<number[]> {
  const pipeline = pipelineForModel(model, { maxBatchSize: 4, batchWaitMs: 50, refine: false, limitInputPixels: 1e8 });
  try {
    const photos = ['skimage-chelsea-cat.png', 'opencv-squirrel_cls.jpg'].map((f) => readFileSync(`test/fixtures/photos/${f}`));
    const results = await Promise.all(photos.map((bytes, i) => pipeline.process({ jobId: `j${i}`, bytes, outputs: ['mask'] })));
    return results.map((r) => r.batchSize);
  } finally {
    await pipeline.close();
  }
}

describe('compareBatchedWithSingle', () => {
  it('the two inputs differ, so a batch that mixes them cannot go unnoticed', () => {
    const [a, b] = batchCheckInputs(tinySpec({ size: SIZE }));
    let differing = 0;
    for (let i = 0; i < a.length; i++) if (Math.abs(a[i]! - b[i]!) > 0.05) differing++;
    assert.ok(differing > a.length / 2, `${differing} of ${a.length} values differ`);
  });
  it('an honest dynamic batch gives the same maps batched and alone', async () => {
    const model = await loadTinyModel({ size: SIZE });
    const r = await compareBatchedWithSingle(model.session, model.spec, model.contract);
    assert.equal(r.consistent, true);
    assert.ok(r.maxAbsDiff <= BATCH_CHECK_MAX_ABS_DIFF, `difference ${r.maxAbsDiff}`);
    await model.session.release();
  });
  it('a batch frozen to 1 inside the graph runs with 2 images without an error, and the maps differ far beyond the tolerance', async () => {
    const model = await loadTinyModel({ size: SIZE, batchOfOneReshape: true });
    assert.equal(model.contract.dynamicBatch, true, 'the graph declares a dynamic batch');
    const r = await compareBatchedWithSingle(model.session, model.spec, model.contract);
    assert.equal(r.error, undefined, 'onnxruntime runs the batch of 2');
    assert.equal(r.consistent, false);
    assert.ok(r.perImage.every((d) => d > 100 * BATCH_CHECK_MAX_ABS_DIFF), `per image: ${r.perImage.join(', ')}`);
    await model.session.release();
  });
  it('logits are compared as probabilities, so the tolerance means the same for both kinds', async () => {
    const model = await loadTinyModel({ size: SIZE, outputKind: 'logits', batchOfOneReshape: true });
    const r = await compareBatchedWithSingle(model.session, model.spec, model.contract);
    assert.equal(r.consistent, false);
    assert.ok(r.maxAbsDiff <= 1, `a difference of probabilities: ${r.maxAbsDiff}`);
    await model.session.release();
  });
});

describe('loadModel decides batching with the check', () => {
  it('(a) an honest dynamic batch passes: batching stays on, and two jobs share one run', async () => {
    const { loaded, logger } = await load({}, { maxBatchSize: 4 });
    assert.deepEqual({ ...loaded.batching, maxAbsDiff: undefined }, { check: 'passed', maxBatchSize: 4, maxAbsDiff: undefined });
    assert.ok(logger.lines.some((l) => l.level === 'info' && l.obj['event'] === 'model.batch_checked'));
    assert.deepEqual(await batchSizesOfTwoJobs(loaded), [2, 2]);
  });

  it('(b) a batch frozen to 1 is refused: one error naming the problem and the fix, batching off, jobs run alone', async () => {
    const { loaded, logger } = await load({ batchOfOneReshape: true }, { maxBatchSize: 4 });
    assert.equal(loaded.batching?.check, 'failed');
    assert.equal(loaded.batching?.maxBatchSize, 1);
    assert.ok((loaded.batching?.maxAbsDiff ?? 0) > 0.01, `difference ${loaded.batching?.maxAbsDiff}`);
    const errors = logger.lines.filter((l) => l.level === 'error');
    assert.equal(errors.length, 1, 'one error log');
    assert.equal(errors[0]!.obj['event'], 'model.batch_refused');
    assert.match(errors[0]!.msg, /model "tiny-test" declares a dynamic batch but mixes the images of a batch/);
    assert.match(errors[0]!.msg, /docs\/model-export\.md/);
    assert.match(errors[0]!.msg, /MAX_BATCH_SIZE=1/);
    assert.match(errors[0]!.msg, /Batching is off for this model/);
    assert.deepEqual(await batchSizesOfTwoJobs(loaded), [1, 1]);
  });

  it('(b) with REQUIRE_BATCHING the refused batch stops startup with the same message', async () => {
    await assert.rejects(
      load({ batchOfOneReshape: true }, { maxBatchSize: 4, requireBatching: true }),
      (err: unknown) =>
        err instanceof PermanentError &&
        err.code === 'model_contract' &&
        /mixes the images of a batch.*docs\/model-export\.md.*MAX_BATCH_SIZE=1.*REQUIRE_BATCHING=true/.test(err.message),
    );
  });

  it('(c) a static batch of 1 needs no check and runs unbatched', async () => {
    const { loaded, logger } = await load({ dynamicBatch: false }, { maxBatchSize: 4, requireBatching: true });
    assert.deepEqual(loaded.batching, { check: 'static_batch', maxBatchSize: 1 });
    assert.ok(!logger.lines.some((l) => String(l.obj['event']).startsWith('model.batch_')), 'no check ran');
    assert.deepEqual(await batchSizesOfTwoJobs(loaded), [1, 1]);
  });

  it('MAX_BATCH_SIZE=1 (or unset) asks for no batching: no check, even on a defective batch', async () => {
    for (const maxBatchSize of [1, undefined]) {
      const { loaded, logger } = await load({ batchOfOneReshape: true }, { maxBatchSize, requireBatching: true });
      assert.deepEqual(loaded.batching, { check: 'batching_off', maxBatchSize: 1 });
      assert.equal(logger.lines.filter((l) => l.level === 'error').length, 0);
      await loaded.session.release();
    }
  });
});
