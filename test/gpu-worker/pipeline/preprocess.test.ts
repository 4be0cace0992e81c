import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { INSPYRENET_SWINB_1024, ISNET_GENERAL_1024 } from '../../../gpu-worker/model/presets.js';
import { decodeImage } from '../../../gpu-worker/pipeline/decode.js';
import { preprocess, toChwTensor } from '../../../gpu-worker/pipeline/preprocess.js';

describe('toChwTensor', () => {
  // Two pixels: pure red, then (0, 128, 255).
  const rgb = Uint8Array.from([255, 0, 0, 0, 128, 255]);
  const cases = [
    { name: 'ISNet (v-128)/256', spec: ISNET_GENERAL_1024, expected: [127 / 256, -0.5, -0.5, 0, -0.5, 127 / 256] },
    {
      name: 'ImageNet mean/std',
      spec: INSPYRENET_SWINB_1024,
      expected: [(1 - 0.485) / 0.229, (0 - 0.485) / 0.229, (0 - 0.456) / 0.224, (128 / 255 - 0.456) / 0.224, (0 - 0.406) / 0.225, (1 - 0.406) / 0.225],
    },
  ];
  for (const c of cases) {
    it(`${c.name}, planar R then G then B`, () => {
      const t = toChwTensor(rgb, c.spec.normalize);
      assert.equal(t.length, 6);
      c.expected.forEach((v, i) => assert.ok(Math.abs(t[i]! - v) < 1e-5, `index ${i}: ${t[i]} vs ${v}`));
    });
  }
});

describe('preprocess', () => {
  it('a real photo becomes a 3xHxW tensor of the model size with values in the normalised range', async () => {
    const image = await decodeImage(readFileSync('test/fixtures/photos/skimage-chelsea-cat.png'), { limitInputPixels: 1e8 });
    const t = await preprocess(image, { input: { name: 'input', width: 64, height: 48 }, normalize: ISNET_GENERAL_1024.normalize });
    assert.equal(t.length, 3 * 64 * 48);
    let min = Infinity;
    let max = -Infinity;
    for (const v of t) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
    assert.ok(min >= -0.5 && max <= 127 / 256 && max - min > 0.5, `range ${min}..${max}`);
  });
  it('an image already at the model size is not resized', async () => {
    const data = Buffer.from([10, 20, 30, 40, 50, 60]);
    const t = await preprocess({ data, width: 2, height: 1 }, { input: { name: 'input', width: 2, height: 1 }, normalize: { mean: [0, 0, 0], std: [1, 1, 1] } });
    assert.deepEqual([...t], [10, 40, 20, 50, 30, 60]);
  });
});
