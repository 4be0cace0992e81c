// The real embedded model on real photos. `make test` runs `make model` first; without the
// file this fails (it does not skip) so a CI that forgot the setup step is noticed.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { embeddedModelPath } from '../../../gpu-worker/model/embedded.js';
import { createImagePipeline, type LoadedImagePipeline } from '../../../gpu-worker/pipeline/pipeline.js';

const MODEL = embeddedModelPath();
let pipeline: LoadedImagePipeline;

before(async () => {
  assert.ok(existsSync(MODEL), `the ISNet model is missing at ${MODEL}: run \`make model\` first`);
  pipeline = await createImagePipeline({
    model: { preset: 'isnet-general-1024', cacheDir: '.cache/models', provider: 'cpu', requireGpu: false, intraOpThreads: 0, cpuMemArena: false },
    maxBatchSize: 4,
    batchWaitMs: 10,
    refine: true,
    limitInputPixels: 64_000_000,
  });
});
after(() => pipeline?.close());

/** Fraction of the image that is foreground (alpha >= 128), and that fraction inside a box. */
async function foreground(mask: Buffer, box?: { x0: number; y0: number; x1: number; y1: number }): Promise<{ all: number; inBox: number }> {
  const { data, info } = await sharp(mask).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  let all = 0;
  let inBox = 0;
  let boxArea = 0;
  for (let y = 0; y < info.height; y++) {
    for (let x = 0; x < info.width; x++) {
      const fg = data[y * info.width + x]! >= 128 ? 1 : 0;
      all += fg;
      if (box && x >= box.x0 * info.width && x < box.x1 * info.width && y >= box.y0 * info.height && y < box.y1 * info.height) {
        inBox += fg;
        boxArea++;
      }
    }
  }
  return { all: all / data.length, inBox: boxArea ? inBox / boxArea : 0 };
}

describe('ISNet (embedded default) on real photos', () => {
  it('loads with the preset contract on CPU, digest pinned', () => {
    assert.equal(pipeline.model.id, 'isnet-general-1024');
    assert.equal(pipeline.model.provider, 'cpu');
    assert.equal(pipeline.loaded.contract.dynamicBatch, false);
  });
  it('the cat photo: a sane foreground fraction, and the cat is foreground', async () => {
    const result = await pipeline.process({ jobId: '0'.repeat(32), bytes: readFileSync('test/fixtures/photos/skimage-chelsea-cat.png'), outputs: ['mask', 'cutout'] });
    const { all, inBox } = await foreground(result.outputs[0]!.data, { x0: 0.35, y0: 0.35, x1: 0.65, y1: 0.75 });
    assert.ok(all > 0.2 && all < 0.8, `foreground fraction ${all.toFixed(3)}`);
    assert.ok(inBox > 0.8, `the cat's box is ${(inBox * 100).toFixed(0)}% foreground`);
    assert.equal(result.batchSize, 1);
  });

  it("a dog cut-out pasted on grass: IoU with the cut-out's exact alpha", async () => {
    const dog = await sharp('test/fixtures/photos/tux-dog.png').ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    const left = 159;
    const top = 145;
    const bytes = await sharp('test/fixtures/photos/skimage-grass.png')
      .composite([{ input: 'test/fixtures/photos/tux-dog.png', left, top }])
      .png()
      .toBuffer();
    const result = await pipeline.process({ jobId: '0'.repeat(32), bytes, outputs: ['mask'] });
    const mask = await sharp(result.outputs[0]!.data).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
    let inter = 0;
    let union = 0;
    for (let y = 0; y < mask.info.height; y++) {
      for (let x = 0; x < mask.info.width; x++) {
        const dx = x - left;
        const dy = y - top;
        const truth = dx >= 0 && dy >= 0 && dx < dog.info.width && dy < dog.info.height && dog.data[(dy * dog.info.width + dx) * 4 + 3]! >= 128;
        const predicted = mask.data[y * mask.info.width + x]! >= 128;
        if (truth && predicted) inter++;
        if (truth || predicted) union++;
      }
    }
    assert.ok(inter / union > 0.85, `IoU ${(inter / union).toFixed(3)}`);
  });
});
