/**
 * The resize kernel is part of each preset's contract (issue 18): the photo reaches the model
 * resized the way the model's reference resizes it, in the job and in the second look alike.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { PRESETS } from '../../../gpu-worker/model/presets.js';
import { decodeImage } from '../../../gpu-worker/pipeline/decode.js';
import { cropForModel, resizeForModel } from '../../../gpu-worker/pipeline/preprocess.js';

const photo = await decodeImage(readFileSync('test/fixtures/photos/skimage-chelsea-cat.png'), { limitInputPixels: 1e8 });
const raw = { raw: { width: photo.width, height: photo.height, channels: 3 as const } };

describe('resize kernel per preset', () => {
  const cases = [
    // transparent-background resizes with PIL BILINEAR.
    { preset: 'inspyrenet-swinb-1024', kernel: 'linear' },
    // @imgly/background-removal-node's own tensorResizeBilinear (presets.ts says why linear is nearest).
    { preset: 'isnet-general-1024', kernel: 'linear' },
  ] as const;
  for (const c of cases) {
    it(`${c.preset} resizes with sharp's ${c.kernel}, not sharp's default`, async () => {
      const spec = PRESETS[c.preset];
      assert.equal(spec.input.resize, c.kernel);
      const { width, height } = spec.input;
      const got = await resizeForModel(photo, spec);
      const want = await sharp(photo.data, raw).resize(width, height, { fit: 'fill', kernel: c.kernel }).raw().toBuffer();
      const lanczos = await sharp(photo.data, raw).resize(width, height, { fit: 'fill' }).raw().toBuffer();
      assert.equal(got.width, width);
      assert.ok(Buffer.from(got.data).equals(want), 'resizeForModel uses the preset kernel');
      assert.ok(!want.equals(lanczos), 'the kernels differ on this photo, so the check above means something');
    });
    it(`${c.preset}'s second look (cropForModel) uses the same kernel`, async () => {
      const spec = PRESETS[c.preset];
      const crop = { left: 40, top: 30, width: 200, height: 150 };
      const got = await cropForModel(photo, crop, spec);
      const want = await sharp(photo.data, raw).extract(crop).resize(spec.input.width, spec.input.height, { fit: 'fill', kernel: c.kernel }).raw().toBuffer();
      assert.ok(Buffer.from(got.data).equals(want));
    });
  }
  it('a spec without a kernel (a literal input size) keeps sharp\'s default lanczos3', async () => {
    const got = await resizeForModel(photo, { input: { width: 64, height: 48 } });
    const want = await sharp(photo.data, raw).resize(64, 48, { fit: 'fill', kernel: 'lanczos3' }).raw().toBuffer();
    assert.ok(Buffer.from(got.data).equals(want));
  });
});
