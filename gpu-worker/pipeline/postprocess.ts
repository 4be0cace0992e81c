import sharp from 'sharp';
import type { ModelSpec } from '../model/spec.js';
import type { SaliencyMap } from './infer.js';

/** A map whose spread is below this is flat: stretching it would only amplify noise. */
const MIN_RANGE = 1e-6;
/**
 * Alpha within this many levels (of 255, about 1%) of 0 or 255 snaps to it: the model's
 * "certainly background" is rarely exactly 0, and near-zero alpha would keep invisible
 * background colours in the cutout (bigger PNGs) and widen the edge band refinement works on.
 */
export const ALPHA_SNAP = 3;

/**
 * One image's map -> 8-bit alpha at the map's size: sigmoid for logits, then min-max
 * over this image only (the reference stretches over the whole batch, which lets one
 * image change another's mask), then quantise.
 * @example const a8 = mapToAlpha(map, { kind: 'probabilities', minMax: true })
 */
export function mapToAlpha(map: SaliencyMap, output: Pick<ModelSpec['output'], 'kind' | 'minMax'>): Uint8Array {
  const src = map.data;
  const n = src.length;
  const values = output.kind === 'logits' ? new Float32Array(n) : src;
  if (output.kind === 'logits') for (let i = 0; i < n; i++) values[i] = 1 / (1 + Math.exp(-src[i]!));
  let lo = 0;
  let scale = 1;
  if (output.minMax) {
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < n; i++) {
      const v = values[i]!;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    if (max - min > MIN_RANGE) {
      lo = min;
      scale = 1 / (max - min);
    }
  }
  const out = new Uint8Array(n);
  const k = 255 * scale;
  // Uint8Array assignment truncates, so +0.5 rounds; clamping handles maps outside [0,1].
  for (let i = 0; i < n; i++) {
    const v = (values[i]! - lo) * k + 0.5;
    out[i] = v <= ALPHA_SNAP + 0.5 ? 0 : v >= 255 - ALPHA_SNAP ? 255 : v;
  }
  return out;
}

/**
 * Resize the 8-bit alpha to the original image's size. Bilinear: smooth edges without the
 * ringing a Lanczos kernel adds to a step. Enlarging (the usual case: a photo larger than
 * the model's input) is a tight loop here, ~3x faster on 12 MP than sharp, whose set-up
 * does not pay off for one channel; reducing goes through sharp, which averages every
 * source pixel instead of sampling two.
 * @example const alpha = await upsampleAlpha(a8, 1024, 1024, 4032, 3024)
 */
export async function upsampleAlpha(alpha: Uint8Array, mapWidth: number, mapHeight: number, width: number, height: number): Promise<Buffer> {
  if (alpha.length !== mapWidth * mapHeight) throw new Error(`alpha has ${alpha.length} values for a ${mapWidth}x${mapHeight} map`);
  if (mapWidth === width && mapHeight === height) return Buffer.from(alpha.buffer, alpha.byteOffset, alpha.byteLength);
  if (width >= mapWidth && height >= mapHeight) return enlargeBilinear(alpha, mapWidth, mapHeight, width, height);
  return sharp(alpha, { raw: { width: mapWidth, height: mapHeight, channels: 1 } })
    .resize(width, height, { fit: 'fill', kernel: 'linear' })
    // A one-channel raw input would otherwise come back as three-channel sRGB.
    .toColourspace('b-w')
    .raw()
    .toBuffer();
}

/**
 * Bilinear enlargement with pixel centres aligned, in 8.8 fixed point, so exact 0 and 255
 * stay exact (the edge band is where the two differ, nowhere else).
 */
export function enlargeBilinear(alpha: Uint8Array, mapWidth: number, mapHeight: number, width: number, height: number): Buffer {
  const [x0, x1, wx] = taps(mapWidth, width);
  const [y0, y1, wy] = taps(mapHeight, height);
  const out = Buffer.allocUnsafe(width * height);
  // One source row pair blended vertically (x256), then two taps per output pixel.
  const row = new Uint32Array(mapWidth);
  for (let y = 0; y < height; y++) {
    const top = y0[y]! * mapWidth;
    const bottom = y1[y]! * mapWidth;
    const b = wy[y]!;
    const t = 256 - b;
    for (let x = 0; x < mapWidth; x++) row[x] = alpha[top + x]! * t + alpha[bottom + x]! * b;
    for (let x = 0, i = y * width; x < width; x++, i++) {
      const r = wx[x]!;
      out[i] = (row[x0[x]!]! * (256 - r) + row[x1[x]!]! * r + 32768) >>> 16;
    }
  }
  return out;
}

/** Per output index: the two source indices and the weight of the second, out of 256. */
function taps(from: number, to: number): [Uint32Array, Uint32Array, Uint32Array] {
  const first = new Uint32Array(to);
  const second = new Uint32Array(to);
  const weight = new Uint32Array(to);
  const scale = from / to;
  for (let i = 0; i < to; i++) {
    const s = Math.min(from - 1, Math.max(0, (i + 0.5) * scale - 0.5));
    const f = Math.floor(s);
    first[i] = f;
    second[i] = Math.min(from - 1, f + 1);
    weight[i] = Math.round((s - f) * 256);
  }
  return [first, second, weight];
}
