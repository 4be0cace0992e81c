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
 * Resize the 8-bit alpha to the original image's size with sharp (native, threaded).
 * Bilinear: smooth edges without the ringing a Lanczos kernel adds to a step.
 * @example const alpha = await upsampleAlpha(a8, 1024, 1024, 4032, 3024)
 */
export async function upsampleAlpha(alpha: Uint8Array, mapWidth: number, mapHeight: number, width: number, height: number): Promise<Buffer> {
  if (mapWidth === width && mapHeight === height) return Buffer.from(alpha.buffer, alpha.byteOffset, alpha.byteLength);
  return sharp(alpha, { raw: { width: mapWidth, height: mapHeight, channels: 1 } })
    .resize(width, height, { fit: 'fill', kernel: 'linear' })
    // A one-channel raw input would otherwise come back as three-channel sRGB.
    .toColourspace('b-w')
    .raw()
    .toBuffer();
}
