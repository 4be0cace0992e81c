import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { composeRgba } from '../../../gpu-worker/pipeline/outputs.js';
import { estimateForeground } from '../../../gpu-worker/pipeline/refine.js';

const W = 96;
const H = 64;
const FG = [220, 40, 40];
const BG = [30, 200, 60];

/** A red disc composited over green with a soft edge: I = a F + (1 - a) B, exactly. */
function scene(): { rgb: Buffer; alpha: Buffer } {
  const rgb = Buffer.alloc(W * H * 3);
  const alpha = Buffer.alloc(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const d = Math.hypot(x - W / 2, y - H / 2);
      const a = Math.min(1, Math.max(0, (24 - d) / 6));
      const i = y * W + x;
      alpha[i] = Math.round(a * 255);
      for (let c = 0; c < 3; c++) rgb[i * 3 + c] = Math.round(a * FG[c]! + (1 - a) * BG[c]!);
    }
  }
  return { rgb, alpha };
}

function edgeError(rgba: Buffer, alpha: Buffer): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < alpha.length; i++) {
    if (alpha[i] === 0 || alpha[i] === 255) continue;
    for (let c = 0; c < 3; c++) sum += Math.abs(rgba[i * 4 + c]! - FG[c]!);
    n += 3;
  }
  return sum / n;
}

describe('estimateForeground', () => {
  it('removes most of the background colour from the soft edge', async () => {
    const { rgb, alpha } = scene();
    const image = { data: rgb, width: W, height: H };
    const original = await composeRgba(image, alpha);
    const refined = await estimateForeground(original, image);
    const before = edgeError(original, alpha);
    const after = edgeError(refined, alpha);
    assert.ok(after < before / 3, `edge colour error ${before.toFixed(1)} -> ${after.toFixed(1)}`);
  });
  it('leaves pixels outside the band (alpha 0 or 255) and the alpha itself untouched', async () => {
    const { rgb, alpha } = scene();
    const image = { data: rgb, width: W, height: H };
    const original = await composeRgba(image, alpha);
    const refined = await estimateForeground(original, image);
    for (let i = 0; i < alpha.length; i++) {
      assert.equal(refined[i * 4 + 3], alpha[i]);
      if (alpha[i] === 0 || alpha[i] === 255) assert.equal(refined.readUInt32LE(i * 4), original.readUInt32LE(i * 4));
    }
  });
  it('a hard mask has no band: the input comes back as is', async () => {
    const rgb = Buffer.alloc(4 * 4 * 3, 100);
    const alpha = Buffer.from(Array.from({ length: 16 }, (_, i) => (i < 8 ? 0 : 255)));
    const original = await composeRgba({ data: rgb, width: 4, height: 4 }, alpha);
    assert.equal(await estimateForeground(original, { data: rgb, width: 4, height: 4 }), original);
  });
});
