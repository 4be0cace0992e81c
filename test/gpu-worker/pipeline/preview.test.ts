import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import type { RenderedOutput } from '../../../gpu-worker/pipeline/contract.js';
import { PREVIEW_MAX_SIDE, previewSize } from '../../../gpu-worker/pipeline/outputs.js';
import { pipelineForModel, type LoadedImagePipeline } from '../../../gpu-worker/pipeline/pipeline.js';
import { loadTinyModel } from '../../support/tiny-model.js';

/** Issue 16 item 5: the preview is a bounded WebP, made first, handed over before the full-size outputs. */
const photo = (f: string) => readFileSync(`test/fixtures/photos/${f}`);
const OPTIONS = { maxBatchSize: 1, batchWaitMs: 0, refine: true, limitInputPixels: 64_000_000 };

let pipeline: LoadedImagePipeline;
before(async () => {
  pipeline = pipelineForModel(await loadTinyModel({ size: 64 }), OPTIONS);
});
after(() => pipeline.close());

describe('the preview', () => {
  it('previewSize bounds the long side to 768 px, keeps the aspect, never enlarges', () => {
    assert.equal(PREVIEW_MAX_SIDE, 768);
    assert.deepEqual(previewSize(4032, 3024), { width: 768, height: 576 });
    assert.deepEqual(previewSize(1300, 1920), { width: 520, height: 768 });
    assert.deepEqual(previewSize(451, 300), { width: 451, height: 300 });
    assert.deepEqual(previewSize(10_000, 5), { width: 768, height: 1 });
  });

  it('a 2.5 MP photo: a 768-px WebP with alpha, handed to onPreview before the result, the same bytes in the result, its alpha that of the mask', async () => {
    const bytes = await sharp(photo('opencv-baboon.jpg')).resize(1920, 1300, { fit: 'fill' }).jpeg().toBuffer();
    const events: string[] = [];
    let early: RenderedOutput | undefined;
    const result = await pipeline.process({
      jobId: 'a'.repeat(32),
      bytes,
      outputs: ['cutout', 'mask', 'preview'],
      onPreview: (p) => {
        early = p;
        events.push('preview');
      },
    });
    events.push('result');
    assert.deepEqual(events, ['preview', 'result']);
    assert.deepEqual(result.outputs.map((o) => o.kind), ['cutout', 'mask', 'preview']);
    const preview = result.outputs[2]!;
    assert.equal(preview, early, 'the object handed over early is the one in the result');
    assert.deepEqual([preview.width, preview.height, preview.contentType], [768, 520, 'image/webp']);
    const meta = await sharp(preview.data).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height, meta.hasAlpha], ['webp', 768, 520, true]);
    assert.deepEqual([result.outputs[0]!.width, result.outputs[0]!.height], [1920, 1300], 'the cutout stays full size');
    assert.ok(preview.data.length < result.outputs[0]!.data.length / 4, `preview ${preview.data.length} B, cutout ${result.outputs[0]!.data.length} B`);
    // The preview's alpha is the job's alpha at its size (WebP's alpha is lossy at quality 90: close, not equal).
    const previewAlpha = await sharp(preview.data).extractChannel(3).raw().toBuffer();
    const maskSmall = await sharp(result.outputs[1]!.data).resize(768, 520, { fit: 'fill' }).extractChannel(0).raw().toBuffer();
    let diff = 0;
    for (let i = 0; i < previewAlpha.length; i++) diff += Math.abs(previewAlpha[i]! - maskSmall[i]!);
    assert.ok(diff / previewAlpha.length < 6, `mean alpha difference ${(diff / previewAlpha.length).toFixed(2)} of 255`);
    assert.equal(typeof result.timingsMs['preview'], 'number');
  });

  it('a photo smaller than the bound keeps its size; a job that asks for the preview alone renders nothing else', async () => {
    let called = 0;
    const result = await pipeline.process({ jobId: 'b'.repeat(32), bytes: photo('skimage-chelsea-cat.png'), outputs: ['preview'], onPreview: () => void called++ });
    assert.equal(called, 1);
    assert.deepEqual(result.outputs.map((o) => [o.kind, o.width, o.height]), [['preview', 451, 300]]);
    assert.equal(result.timingsMs['encode'], undefined, 'no full-size render');
  });

  it('no onPreview is called when the job does not ask for a preview', async () => {
    let called = 0;
    const result = await pipeline.process({ jobId: 'c'.repeat(32), bytes: photo('skimage-chelsea-cat.png'), outputs: ['mask'], onPreview: () => void called++ });
    assert.equal(called, 0);
    assert.deepEqual(result.outputs.map((o) => o.kind), ['mask']);
  });
});
