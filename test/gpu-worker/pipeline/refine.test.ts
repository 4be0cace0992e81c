import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { composeRgba } from '../../../gpu-worker/pipeline/outputs.js';
import { colourGrid } from '../../../gpu-worker/pipeline/refine.js';

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

describe('colourGrid + composeRgba (foreground colour estimation)', () => {
  it('removes most of the background colour from the soft edge', async () => {
    const { rgb, alpha } = scene();
    const image = { data: rgb, width: W, height: H };
    const original = composeRgba(image, alpha);
    const refined = composeRgba(image, alpha, await colourGrid(image, alpha, W, H));
    const before = edgeError(original, alpha);
    const after = edgeError(refined, alpha);
    assert.ok(after < before / 3, `edge colour error ${before.toFixed(1)} -> ${after.toFixed(1)}`);
  });
  it('the means can come from a smaller copy (as the pipeline passes the model-sized one)', async () => {
    const { rgb, alpha } = scene();
    const image = { data: rgb, width: W, height: H };
    const half = { data: await sharp(rgb, { raw: { width: W, height: H, channels: 3 } }).resize(W / 2, H / 2).raw().toBuffer(), width: W / 2, height: H / 2 };
    const halfAlpha = await sharp(alpha, { raw: { width: W, height: H, channels: 1 } }).resize(W / 2, H / 2).extractChannel(0).raw().toBuffer();
    const before = edgeError(composeRgba(image, alpha), alpha);
    const after = edgeError(composeRgba(image, alpha, await colourGrid(half, halfAlpha, W, H)), alpha);
    assert.ok(after < before / 3, `edge colour error ${before.toFixed(1)} -> ${after.toFixed(1)}`);
  });
  it('leaves pixels outside the band (alpha 0 or 255) and the alpha itself untouched', async () => {
    const { rgb, alpha } = scene();
    const image = { data: rgb, width: W, height: H };
    const original = composeRgba(image, alpha);
    const refined = composeRgba(image, alpha, await colourGrid(image, alpha, W, H));
    for (let i = 0; i < alpha.length; i++) {
      assert.equal(refined[i * 4 + 3], alpha[i]);
      if (alpha[i] === 0 || alpha[i] === 255) assert.equal(refined.readUInt32LE(i * 4), original.readUInt32LE(i * 4));
    }
  });
  it('a hard mask has no band: the cutout is the same with or without the grid', async () => {
    const image = { data: Buffer.alloc(4 * 4 * 3, 100), width: 4, height: 4 };
    const alpha = Buffer.from(Array.from({ length: 16 }, (_, i) => (i < 8 ? 0 : 255)));
    assert.deepEqual(composeRgba(image, alpha, await colourGrid(image, alpha, 4, 4)), composeRgba(image, alpha));
  });
  it('refuses a grid made for another image size, and a source whose alpha does not match it', async () => {
    const { rgb, alpha } = scene();
    const image = { data: rgb, width: W, height: H };
    const grid = await colourGrid(image, alpha, W, H);
    assert.throws(() => composeRgba({ data: Buffer.alloc(3 * 4), width: 2, height: 2 }, Buffer.alloc(4), grid), /colour grid covers 96x64, the image is 2x2/);
    await assert.rejects(colourGrid(image, alpha.subarray(1), W, H), /source alpha has 6143 values for a 96x64 image/);
  });
});
