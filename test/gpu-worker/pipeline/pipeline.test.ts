import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import type { ImagePipeline, ProcessResult } from '../../../gpu-worker/pipeline/contract.js';
import { pipelineForModel, type LoadedImagePipeline } from '../../../gpu-worker/pipeline/pipeline.js';
import { PermanentError, RetryableError } from '../../../shared/errors.js';
import { loadTinyModel } from '../../support/tiny-model.js';

const photo = (f: string) => readFileSync(`test/fixtures/photos/${f}`);
const OPTIONS = { maxBatchSize: 4, batchWaitMs: 30, refine: true, limitInputPixels: 64_000_000 };
const ALL = ['cutout', 'mask', 'bw', 'preview'] as const;

let dynamic: LoadedImagePipeline;
let fixed: LoadedImagePipeline;
before(async () => {
  dynamic = pipelineForModel(await loadTinyModel({ size: 64 }), OPTIONS);
  fixed = pipelineForModel(await loadTinyModel({ size: 64, dynamicBatch: false }), OPTIONS);
});
after(async () => {
  await dynamic.close();
  await fixed.close();
});

async function decodedAlpha(result: ProcessResult): Promise<Buffer> {
  const mask = result.outputs.find((o) => o.kind === 'mask')!;
  return sharp(mask.data).extractChannel(0).raw().toBuffer();
}

describe('createImagePipeline / pipelineForModel with a tiny model', () => {
  it('describes its model and provider', () => {
    const p: ImagePipeline = dynamic;
    assert.equal(p.model.id, 'tiny-test');
    assert.equal(p.model.provider, 'cpu');
    assert.match(p.model.sha256 ?? '', /^[0-9a-f]{64}$/);
  });

  it('an EXIF-rotated JPEG gives outputs at the upright size, without EXIF, with timings per stage', async () => {
    const bytes = await sharp(photo('opencv-squirrel_cls.jpg')).withMetadata({ orientation: 6 }).jpeg().toBuffer(); // 535x426 stored
    const result = await dynamic.process({ jobId: 'a'.repeat(32), bytes, outputs: ALL });
    assert.deepEqual(
      result.outputs.map((o) => o.kind),
      [...ALL],
    );
    for (const o of result.outputs.slice(0, 3)) {
      const meta = await sharp(o.data).metadata();
      assert.deepEqual([meta.width, meta.height, o.width, o.height], [426, 535, 426, 535], o.kind);
      assert.equal(meta.exif, undefined);
      assert.equal(meta.orientation, undefined);
    }
    for (const stage of ['decode', 'preprocess', 'queue', 'infer', 'render_queue', 'postprocess', 'refine', 'encode', 'total']) {
      assert.equal(typeof result.timingsMs[stage], 'number', stage);
    }
  });

  it('only the requested outputs are produced', async () => {
    const result = await dynamic.process({ jobId: 'b'.repeat(32), bytes: photo('skimage-chelsea-cat.png'), outputs: ['mask'] });
    assert.deepEqual(
      result.outputs.map((o) => o.kind),
      ['mask'],
    );
  });

  it('concurrent jobs share one inference, and each mask equals the one it gets alone', async () => {
    const files = ['skimage-chelsea-cat.png', 'opencv-squirrel_cls.jpg', 'opencv-butterfly.jpg'];
    const alone = [];
    for (const f of files) alone.push(await dynamic.process({ jobId: 'c'.repeat(32), bytes: photo(f), outputs: ['mask'] }));
    const together = await Promise.all(files.map((f) => dynamic.process({ jobId: 'd'.repeat(32), bytes: photo(f), outputs: ['mask'] })));
    assert.ok(
      together.some((r) => r.batchSize > 1),
      `batch sizes ${together.map((r) => r.batchSize)}`,
    );
    for (const [i, r] of together.entries()) assert.deepEqual(await decodedAlpha(r), await decodedAlpha(alone[i]!), files[i]);
    assert.ok(alone.every((r) => r.batchSize === 1));
  });

  it('a lone job does not wait for company; one whose partner fails to decode stops waiting then', async () => {
    // A wait long enough that paying it would show plainly.
    const p = pipelineForModel(await loadTinyModel({ size: 32 }), { ...OPTIONS, batchWaitMs: 5_000 });
    try {
      const alone = await p.process({ jobId: 'h'.repeat(32), bytes: photo('skimage-chelsea-cat.png'), outputs: ['mask'] });
      assert.ok(alone.timingsMs['queue']! < 1000, `alone, queued ${alone.timingsMs['queue']} ms`);
      // The corrupt upload is announced when its job starts and withdrawn when decoding fails.
      const [ok, bad] = await Promise.allSettled([
        p.process({ jobId: 'i'.repeat(32), bytes: photo('skimage-chelsea-cat.png'), outputs: ['mask'] }),
        p.process({ jobId: 'j'.repeat(32), bytes: photo('opencv-baboon.jpg').subarray(0, 5000), outputs: ['mask'] }),
      ]);
      assert.equal(bad.status, 'rejected');
      assert.equal(ok.status, 'fulfilled');
      const queued = (ok as PromiseFulfilledResult<ProcessResult>).value.timingsMs['queue']!;
      assert.ok(queued < 1000, `next to a failed decode, queued ${queued} ms`);
    } finally {
      await p.close();
    }
  });

  it('jobs that leave inference together are rendered one after another in order, not all at the end (renderConcurrency 1)', async () => {
    // A long batch wait, so the three share one inference and leave it together.
    const p = pipelineForModel(await loadTinyModel({ size: 32 }), { ...OPTIONS, batchWaitMs: 5_000, renderConcurrency: 1 });
    try {
      const big = await sharp(photo('opencv-baboon.jpg')).resize(1600, 1600).jpeg().toBuffer();
      const finished: ProcessResult[] = [];
      const results = await Promise.all([0, 1, 2].map((i) => p.process({ jobId: String(i).repeat(32), bytes: big, outputs: ['cutout', 'mask'] }).then((r) => (finished.push(r), r))));
      assert.deepEqual(results.map((r) => r.batchSize), [3, 3, 3]);
      // In the order they finished, each waited for the renders ahead of it, and that wait is in its timings.
      const waits = finished.map((r) => r.timingsMs['render_queue']!);
      const renders = finished.map((r) => r.timingsMs['postprocess']! + r.timingsMs['refine']! + r.timingsMs['encode']!);
      assert.ok(waits[0]! < 50, `the first waited ${waits[0]} ms`);
      // (A job's clock starts when its own continuation runs, after the synchronous start of the
      // render ahead of it, so a wait reads somewhat short of the renders it sat behind.)
      assert.ok(waits[1]! >= 0.7 * renders[0]! && waits[2]! >= 0.7 * (renders[0]! + renders[1]!), `render waits ${waits.join(', ')} ms for renders of ${renders.join(', ')} ms`);
    } finally {
      await p.close();
    }
  });

  it('a static-batch model runs concurrent jobs one at a time', async () => {
    const results = await Promise.all(['skimage-chelsea-cat.png', 'opencv-squirrel_cls.jpg'].map((f) => fixed.process({ jobId: 'e'.repeat(32), bytes: photo(f), outputs: ['mask'] })));
    assert.deepEqual(
      results.map((r) => r.batchSize),
      [1, 1],
    );
  });

  it('an unreadable upload rejects with a PermanentError and a code; the pipeline keeps working', async () => {
    await assert.rejects(
      dynamic.process({ jobId: 'f'.repeat(32), bytes: photo('opencv-baboon.jpg').subarray(0, 5000), outputs: ['cutout'] }),
      (err: unknown) => err instanceof PermanentError && err.code === 'corrupt',
    );
    const ok = await dynamic.process({ jobId: 'f'.repeat(32), bytes: photo('opencv-baboon.jpg'), outputs: ['cutout'] });
    assert.equal(ok.outputs[0]!.width, 512);
  });

  it('warmup runs an inference; after close, jobs are refused as retryable', async () => {
    const p = pipelineForModel(await loadTinyModel({ size: 32 }), OPTIONS);
    await p.warmup();
    await p.close();
    await p.close();
    await assert.rejects(p.process({ jobId: 'g'.repeat(32), bytes: photo('skimage-chelsea-cat.png'), outputs: ['mask'] }), (err: unknown) => err instanceof RetryableError && err.code === 'model_not_ready');
  });
});
