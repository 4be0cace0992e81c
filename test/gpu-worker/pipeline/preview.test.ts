import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import type { RenderedOutput } from '../../../gpu-worker/pipeline/contract.js';
import { PREVIEW_MAX_SIDE, previewSize } from '../../../gpu-worker/pipeline/outputs.js';
import { pipelineForModel, type LoadedImagePipeline } from '../../../gpu-worker/pipeline/pipeline.js';
import { PREVIEW_BAND_BUDGET, previewSteps } from '../../../gpu-worker/pipeline/render.js';
import { DEFAULT_ALPHA } from '../../../gpu-worker/pipeline/alpha/options.js';
import { loadTinyModel } from '../../support/tiny-model.js';

/** Issue 16 item 5: the preview is a bounded WebP, made first, handed over before the full-size outputs. */
const photo = (f: string) => readFileSync(`test/fixtures/photos/${f}`);
const OPTIONS = { maxBatchSize: 1, batchWaitMs: 0, refine: true, limitInputPixels: 64_000_000 };

/** Mean |preview alpha - mask at the preview's size|, of 255. */
async function meanAlphaDifference(preview: RenderedOutput, mask: RenderedOutput): Promise<number> {
  const previewAlpha = await sharp(preview.data).extractChannel(3).raw().toBuffer();
  const maskSmall = await sharp(mask.data).resize(preview.width, preview.height, { fit: 'fill' }).extractChannel(0).raw().toBuffer();
  let diff = 0;
  for (let i = 0; i < previewAlpha.length; i++) diff += Math.abs(previewAlpha[i]! - maskSmall[i]!);
  const mean = diff / previewAlpha.length;
  assert.ok(Number.isFinite(mean));
  return mean;
}

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

  it("a 2.5 MP photo: a 768-px WebP with alpha, handed to onPreview before the result, the same bytes in the result, its alpha near the mask's", async () => {
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
    // The tiny model's 64-px map is smaller than the preview (previewSteps): the preview's alpha
    // is the decided alpha enlarged, without the colour line that the mask has: near it, not equal.
    assert.ok((await meanAlphaDifference(preview, result.outputs[1]!)) < 12);
    assert.equal(typeof result.timingsMs['preview'], 'number');
  });

  it("from a map larger than the preview with a band within budget, the preview's alpha is the mask's at its size", async () => {
    // A bright disc with a soft rim on a dark ground: the tiny model (a brightness detector) at 1024 px decides it, with a thin band.
    const [W, H] = [1920, 1300];
    const rgb = Buffer.alloc(W * H * 3, 30);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const d = Math.hypot(x - 960, y - 650) - 500;
        if (d < 8) rgb.fill(d <= 0 ? 230 : Math.round(230 - (200 * d) / 8), (y * W + x) * 3, (y * W + x) * 3 + 3);
      }
    const bytes = await sharp(rgb, { raw: { width: W, height: H, channels: 3 } }).png().toBuffer();
    const large = pipelineForModel(await loadTinyModel({ size: 1024 }), OPTIONS);
    const result = await large.process({ jobId: 'd'.repeat(32), bytes, outputs: ['mask', 'preview'] }).finally(() => large.close());
    // WebP's alpha is lossy at quality 90: close, not equal.
    assert.ok((await meanAlphaDifference(result.outputs[1]!, result.outputs[0]!)) < 2);
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

  it('the band steps run on a thin band of a map at least the preview size, and are left out otherwise', () => {
    const [W, H] = [768, 520];
    // A disc with a 3-px soft rim: ~4k soft pixels, a real model's band.
    const disc = new Uint8Array(W * H);
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const d = Math.hypot(x - 384, y - 260) - 200;
        disc[y * W + x] = d <= 0 ? 255 : d >= 3 ? 0 : Math.round(255 * (1 - d / 3));
      }
    assert.equal(previewSteps(DEFAULT_ALPHA, disc, W, H, 1024, 1024), DEFAULT_ALPHA, 'a thin band of a 1024-px map keeps every step');
    const off = (s: typeof DEFAULT_ALPHA | undefined) => [s?.colourLine, s?.bandColours, s?.secondPass, s?.edgeAware, s?.decisive];
    // The same band from a 64-px map: enlarged 12 times, its steps would work in 48-px windows.
    assert.deepEqual(off(previewSteps(DEFAULT_ALPHA, disc, W, H, 64, 64)), [false, false, false, false, true]);
    // A ramp over the whole frame: every pixel soft, a map that decides nothing.
    const ramp = Uint8Array.from({ length: W * H }, (_, i) => 1 + ((i % W) % 254));
    assert.deepEqual(off(previewSteps(DEFAULT_ALPHA, ramp, W, H, 1024, 1024)), [false, false, false, false, true]);
    // Exactly at the budget the steps still run; one more soft pixel and they do not.
    const edge = new Uint8Array(W * H);
    edge.fill(128, 0, PREVIEW_BAND_BUDGET);
    assert.equal(previewSteps(DEFAULT_ALPHA, edge, W, H, 1024, 1024), DEFAULT_ALPHA);
    edge[PREVIEW_BAND_BUDGET] = 128;
    assert.equal(previewSteps(DEFAULT_ALPHA, edge, W, H, 1024, 1024)!.colourLine, false);
  });
});
