import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { AlphaSpec, DEFAULT_ALPHA } from '../../../gpu-worker/pipeline/alpha/options.js';
import { renderingId, renderOutputs, type RenderStage } from '../../../gpu-worker/pipeline/render.js';

const W = 40;
const H = 30;
/** A 16x16 "model output": a soft-edged disc of probabilities. */
function map(): { data: Float32Array; width: number; height: number } {
  const data = new Float32Array(16 * 16);
  for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) data[y * 16 + x] = Math.min(1, Math.max(0, (6 - Math.hypot(x - 7.5, y - 7.5)) / 2));
  return { data, width: 16, height: 16 };
}
const image = { data: Buffer.from(Array.from({ length: W * H * 3 }, (_, i) => (i * 37) & 255)), width: W, height: H };
const resized = { data: Buffer.alloc(16 * 16 * 3, 90), width: 16, height: 16 };
const output = { kind: 'probabilities', minMax: true } as const;

describe('renderOutputs', () => {
  it('gives the requested outputs in order at full size, the mask equal to the cutout alpha, stages marked in order', async () => {
    const marks: RenderStage[] = [];
    const outs = await renderOutputs({ image, resized, map: map(), output, kinds: ['bw', 'mask', 'cutout'], refine: true }, (s) => marks.push(s));
    assert.deepEqual(
      outs.map((o) => [o.kind, o.width, o.height]),
      [
        ['bw', W, H],
        ['mask', W, H],
        ['cutout', W, H],
      ],
    );
    assert.deepEqual(marks, ['postprocess', 'edges', 'refine', 'encode']);
    const mask = await sharp(outs[1]!.data).extractChannel(0).raw().toBuffer();
    const cutout = await sharp(outs[2]!.data).raw().toBuffer();
    const bwAlpha = await sharp(outs[0]!.data).extractChannel('alpha').raw().toBuffer();
    for (let i = 0; i < W * H; i++) {
      assert.equal(cutout[i * 4 + 3], mask[i]);
      assert.equal(bwAlpha[i], mask[i]);
    }
    assert.ok(mask.includes(0) && mask.includes(255), 'the disc is opaque inside, transparent outside');
  });
  it('refinement changes only the colour of edge pixels', async () => {
    const kinds = ['cutout'] as const;
    const [plain] = await renderOutputs({ image, resized, map: map(), output, kinds, refine: false });
    const [refined] = await renderOutputs({ image, resized, map: map(), output, kinds, refine: true });
    const p = await sharp(plain!.data).raw().toBuffer();
    const r = await sharp(refined!.data).raw().toBuffer();
    let changed = 0;
    for (let i = 0; i < W * H; i++) {
      const a = p[i * 4 + 3]!;
      assert.equal(r[i * 4 + 3], a);
      if (a === 0 || a === 255) assert.equal(r.readUInt32LE(i * 4), p.readUInt32LE(i * 4));
      else if (r.readUInt32LE(i * 4) !== p.readUInt32LE(i * 4)) changed++;
    }
    assert.ok(changed > 0, 'some edge pixel got a new colour');
  });
  it("with the spec's alpha steps, the mask is the final alpha: a see-through disc comes out solid inside, and the mask equals the cutout's alpha", async () => {
    // The disc at 0.75 inside (a hedging model), enlarged 4x: the edge step runs too.
    const faint = map();
    faint.data.forEach((v, i) => (faint.data[i] = v * 0.75 + (i === 0 ? 0.25 : 0)));
    const big = { data: Buffer.from(Array.from({ length: 64 * 64 * 3 }, (_, i) => (i * 37) & 255)), width: 64, height: 64 };
    const kinds = ['mask', 'cutout'] as const;
    const marks: RenderStage[] = [];
    const [mask, cutout] = await renderOutputs({ image: big, resized, map: faint, output: { kind: 'probabilities', minMax: false }, kinds, refine: true, alpha: DEFAULT_ALPHA }, (s) => marks.push(s));
    assert.deepEqual(marks, ['postprocess', 'edges', 'refine', 'encode']);
    const m = await sharp(mask!.data).extractChannel(0).raw().toBuffer();
    const c = await sharp(cutout!.data).raw().toBuffer();
    for (let i = 0; i < 64 * 64; i++) assert.equal(c[i * 4 + 3], m[i]);
    assert.equal(m[32 * 64 + 32], 255, 'solid centre (the map said 0.75)');
    assert.equal(m[2 * 64 + 2], 0);
  });
  it('the rendering id names the alpha settings', () => {
    assert.notEqual(renderingId(true, DEFAULT_ALPHA), renderingId(true, AlphaSpec.parse({ curveHigh: 230 })));
    assert.match(renderingId(true, DEFAULT_ALPHA), /^render-7\+refine\+alpha-[0-9a-f]{8}$/);
    // The model input's resize kernel changes what the model sees, so it is part of the id.
    assert.notEqual(renderingId(true, DEFAULT_ALPHA, 'linear'), renderingId(true, DEFAULT_ALPHA, 'lanczos3'));
    assert.match(renderingId(true, DEFAULT_ALPHA, 'linear'), /\+resize-linear$/);
  });
  it('a map that does not match its stated size rejects', async () => {
    await assert.rejects(renderOutputs({ image, resized, map: { ...map(), width: 15 }, output, kinds: ['mask', 'cutout'], refine: true }), /alpha has 256 values for a 15x16 map/);
  });
});
