import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
  it('same size is returned as is', async () => {
    const a = Uint8Array.from([1, 2, 3, 4]);
    assert.deepEqual([...(await upsampleAlpha(a, 2, 2, 2, 2))], [1, 2, 3, 4]);
  });
});
