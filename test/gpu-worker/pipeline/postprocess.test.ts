import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { ALPHA_SNAP, mapToAlpha, upsampleAlpha } from '../../../gpu-worker/pipeline/postprocess.js';

const map = (values: number[]) => ({ data: Float32Array.from(values), width: values.length, height: 1 });

describe('mapToAlpha', () => {
  const cases: { name: string; values: number[]; kind: 'probabilities' | 'logits'; minMax: boolean; expected: number[] }[] = [
    { name: 'probabilities as they are', values: [0, 0.25, 0.5, 1], kind: 'probabilities', minMax: false, expected: [0, 64, 128, 255] },
    { name: 'min-max stretches this image to the full range', values: [0.2, 0.3, 0.6], kind: 'probabilities', minMax: true, expected: [0, 64, 255] },
    { name: 'logits get a sigmoid', values: [-100, 0, 100], kind: 'logits', minMax: false, expected: [0, 128, 255] },
    { name: 'a flat map is not stretched (no noise amplification)', values: [0.5, 0.5], kind: 'probabilities', minMax: true, expected: [128, 128] },
    { name: 'values outside [0,1] are clamped', values: [-0.5, 1.5], kind: 'probabilities', minMax: false, expected: [0, 255] },
    { name: `within ${ALPHA_SNAP} levels of 0 or 255 snaps`, values: [2 / 255, 5 / 255, 250 / 255, 253 / 255], kind: 'probabilities', minMax: false, expected: [0, 5, 250, 255] },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual([...mapToAlpha(map(c.values), { kind: c.kind, minMax: c.minMax })], c.expected));
  }
  it('depends on this image only: min-max over a scaled copy gives the same alpha', () => {
    const a = [0.1, 0.3, 0.5, 0.9];
    const scaled = a.map((v) => v * 0.5);
    assert.deepEqual([...mapToAlpha(map(a), { kind: 'probabilities', minMax: true })], [...mapToAlpha(map(scaled), { kind: 'probabilities', minMax: true })]);
  });
});

describe('upsampleAlpha', () => {
  it('resizes one channel to the original size and stays one channel', async () => {
    const a = Uint8Array.from({ length: 16 * 16 }, (_, i) => (i % 16 < 8 ? 0 : 255));
    const out = await upsampleAlpha(a, 16, 16, 40, 30);
    assert.equal(out.length, 40 * 30);
    assert.equal(out[0], 0);
    assert.equal(out[39], 255);
  });
  it('enlarges bilinearly with pixel centres aligned; exact 0 and 255 stay exact', async () => {
    const cases = [
      { name: 'a step, 2x1 -> 4x1', a: [0, 255], from: [2, 1], to: [4, 1], expected: [0, 64, 191, 255] },
      { name: 'rows too, 1x2 -> 1x4', a: [0, 255], from: [1, 2], to: [1, 4], expected: [0, 64, 191, 255] },
      { name: 'flat stays flat', a: [255, 255, 255, 255], from: [2, 2], to: [3, 3], expected: Array(9).fill(255) },
    ];
    for (const c of cases) assert.deepEqual([...(await upsampleAlpha(Uint8Array.from(c.a), c.from[0]!, c.from[1]!, c.to[0]!, c.to[1]!))], c.expected, c.name);
  });
  it("enlarging agrees with sharp's bilinear resize on a smooth ramp", async () => {
    const a = Uint8Array.from({ length: 32 * 24 }, (_, i) => (i % 32) * 5 + Math.floor(i / 32) * 3);
    const ours = await upsampleAlpha(a, 32, 24, 101, 77);
    const theirs = await sharp(a, { raw: { width: 32, height: 24, channels: 1 } }).resize(101, 77, { fit: 'fill', kernel: 'linear' }).extractChannel(0).raw().toBuffer();
    let worst = 0;
    for (let i = 0; i < ours.length; i++) worst = Math.max(worst, Math.abs(ours[i]! - theirs[i]!));
    assert.ok(worst <= 2, `worst difference ${worst}`);
  });
  it('reducing (a photo smaller than the model input) goes through sharp and stays one channel', async () => {
    const a = Uint8Array.from({ length: 16 * 16 }, (_, i) => (i % 16 < 8 ? 0 : 255));
    const out = await upsampleAlpha(a, 16, 16, 8, 6);
    assert.equal(out.length, 8 * 6);
    assert.deepEqual([out[0], out[7]], [0, 255]);
  });
  it('refuses an alpha that does not match the map size', async () => {
    await assert.rejects(upsampleAlpha(new Uint8Array(3), 2, 2, 4, 4), /alpha has 3 values for a 2x2 map/);
  });
  it('same size is returned as is', async () => {
    const a = Uint8Array.from([1, 2, 3, 4]);
    assert.deepEqual([...(await upsampleAlpha(a, 2, 2, 2, 2))], [1, 2, 3, 4]);
  });
});
