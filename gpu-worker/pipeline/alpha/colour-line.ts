import type { RgbImage } from '../decode.js';
import { forEachSoftTile, PixelWrites } from './soft-tiles.js';

/** Fewer opaque or clear pixels than this in a pixel's window: no colour line there, the alpha stays. */
/** Fewer opaque pixels than this in a pixel's window: no band colour either (as alpha/colour.ts). */
const MIN_DEFINITE = 3;
const MIN_SIDE = 4;
/** Foreground and background means closer than this (RGB distance squared) do not define a line. */
const MIN_LINE = 12 * 12;

/**
 * Soft alpha from the photo's colour line, per soft pixel: within `radius`, the mean colour
 * F of the opaque pixels and B of the clear ones define the line a photo pixel of partial
 * coverage lies on (I = a F + (1 - a) B, the two-colour model every matting method starts
 * from), and the pixel's projection on it is its alpha. Trusted by how far F and B are apart
 * against the colour spread on each side (two flat colours: fully; textured fur on a busy
 * background: little), and mixed with the given alpha by that trust. Only soft pixels
 * (0 < alpha < 255) change: the decisive alpha's opaque interior and clear background are
 * the trimap's known parts, its soft band the unknown one, so the work follows the outline.
 * Why per pixel and not per tile (edges.ts): along an outline the fur and the background
 * change colour every few pixels, and one line per 64-px tile mixes them.
 * With `colours`, the same sums also give each soft pixel its band colour (what alpha/colour.ts
 * `bandColours` computes with the new alpha, in the same pass instead of a second one over
 * the band: ~80 ms per 12 MP photo), returned for `applyBandColours`.
 * @example const band = colourLineAlpha(image, alpha, 12, { colours: true }) // alpha in place
 */
export function colourLineAlpha(image: RgbImage, alpha: Uint8Array, radius: number, options: { colours?: boolean; tile?: number } = {}): BandColourList | undefined {
  const colours = options.colours ?? false;
  const tile = options.tile ?? 64;
  const { width: W, height: H, data: rgb } = image;
  if (alpha.length !== W * H || rgb.length !== W * H * 3) throw new Error(`colourLineAlpha: ${alpha.length} alpha values and ${rgb.length} colour bytes for a ${W}x${H} image`);
  const r = Math.max(1, Math.round(radius));
  const T = tile;
  const side = T + 2 * r;
  // Per cell, interleaved: opaque R, G, B, sum of squares, count; clear R, G, B, sum of squares, count.
  const K = 10;
  const sat = new Float64Array((side + 1) * (side + 1) * K);
  // New alpha in the top byte, the band colour (when asked) below.
  const writes = new PixelWrites();
  forEachSoftTile(alpha, W, H, r, T, ({ x0, y0, x1, y1, rx0, ry0, rw, rh }) => {
    const sk = (rw + 1) * K;
    sat.fill(0, 0, sk);
    for (let y = 0; y < rh; y++) {
      let fr = 0, fg = 0, fb = 0, fq = 0, fn = 0, br = 0, bg = 0, bb = 0, bq = 0, bn = 0;
      const row = (y + 1) * sk;
      sat.fill(0, row, row + K);
      for (let x = 0, i = (y + ry0) * W + rx0, j = row + K; x < rw; x++, i++, j += K) {
        const a = alpha[i]!;
        if (a === 255) {
          const R = rgb[i * 3]!, G = rgb[i * 3 + 1]!, B = rgb[i * 3 + 2]!;
          fr += R; fg += G; fb += B; fq += R * R + G * G + B * B; fn++;
        } else if (a === 0) {
          const R = rgb[i * 3]!, G = rgb[i * 3 + 1]!, B = rgb[i * 3 + 2]!;
          br += R; bg += G; bb += B; bq += R * R + G * G + B * B; bn++;
        }
        const up = j - sk;
        sat[j] = sat[up]! + fr;
        sat[j + 1] = sat[up + 1]! + fg;
        sat[j + 2] = sat[up + 2]! + fb;
        sat[j + 3] = sat[up + 3]! + fq;
        sat[j + 4] = sat[up + 4]! + fn;
        sat[j + 5] = sat[up + 5]! + br;
        sat[j + 6] = sat[up + 6]! + bg;
        sat[j + 7] = sat[up + 7]! + bb;
        sat[j + 8] = sat[up + 8]! + bq;
        sat[j + 9] = sat[up + 9]! + bn;
      }
    }
    for (let y = y0; y < y1; y++) {
      const ly = y - ry0;
      const ya = Math.max(0, ly - r) * sk;
      const yb = Math.min(rh, ly + r + 1) * sk;
      for (let x = x0; x < x1; x++) {
        const i = y * W + x;
        const a8 = alpha[i]!;
        if (a8 === 0 || a8 === 255) continue;
        const lx = x - rx0;
        const xa = Math.max(0, lx - r) * K;
        const xb = Math.min(rw, lx + r + 1) * K;
        const p11 = yb + xb, p01 = ya + xb, p10 = yb + xa, p00 = ya + xa;
        // Box sums inlined (a closure per pixel cost more than the sums).
        const nf = sat[p11 + 4]! - sat[p01 + 4]! - sat[p10 + 4]! + sat[p00 + 4]!;
        const nb = sat[p11 + 9]! - sat[p01 + 9]! - sat[p10 + 9]! + sat[p00 + 9]!;
        if (nf < MIN_DEFINITE) continue;
        const Fr = (sat[p11]! - sat[p01]! - sat[p10]! + sat[p00]!) / nf;
        const Fg = (sat[p11 + 1]! - sat[p01 + 1]! - sat[p10 + 1]! + sat[p00 + 1]!) / nf;
        const Fb = (sat[p11 + 2]! - sat[p01 + 2]! - sat[p10 + 2]! + sat[p00 + 2]!) / nf;
        const I0 = rgb[i * 3]!, I1 = rgb[i * 3 + 1]!, I2 = rgb[i * 3 + 2]!;
        let a = a8 / 255;
        let Br = 0, Bg = 0, Bb = 0;
        if (nb >= MIN_DEFINITE) {
          Br = (sat[p11 + 5]! - sat[p01 + 5]! - sat[p10 + 5]! + sat[p00 + 5]!) / nb;
          Bg = (sat[p11 + 6]! - sat[p01 + 6]! - sat[p10 + 6]! + sat[p00 + 6]!) / nb;
          Bb = (sat[p11 + 7]! - sat[p01 + 7]! - sat[p10 + 7]! + sat[p00 + 7]!) / nb;
        }
        const dr = Fr - Br, dg = Fg - Bg, db = Fb - Bb;
        const len2 = dr * dr + dg * dg + db * db;
        if (nf >= MIN_SIDE && nb >= MIN_SIDE && len2 >= MIN_LINE) {
          // Pooled colour variance of the two sides (sum over channels).
          const qf = sat[p11 + 3]! - sat[p01 + 3]! - sat[p10 + 3]! + sat[p00 + 3]!;
          const qb = sat[p11 + 8]! - sat[p01 + 8]! - sat[p10 + 8]! + sat[p00 + 8]!;
          const spread = Math.max(0, qf / nf - (Fr * Fr + Fg * Fg + Fb * Fb)) + Math.max(0, qb / nb - (Br * Br + Bg * Bg + Bb * Bb));
          const trust = len2 / (len2 + spread);
          const line = ((I0 - Br) * dr + (I1 - Bg) * dg + (I2 - Bb) * db) / len2;
          const est = line <= 0 ? 0 : line >= 1 ? 1 : line;
          const q = (trust * est + (1 - trust) * a) * 255 + 0.5;
          // Stays soft: the band's known parts are the decisive alpha's, not this estimate's.
          a = (q < 1 ? 1 : q > 254 ? 254 : q | 0) / 255;
        }
        let packed = Math.round(a * 255) << 24;
        if (colours) {
          // The band colour (as alpha/colour.ts bandColours): F + a (I - a F - (1 - a) B) from the
          // same definite means; without clear neighbours B is what the mix implies, which leaves F.
          const m = 1 - a;
          const withB = nb >= MIN_DEFINITE;
          const vr = withB ? Fr + a * (I0 - a * Fr - m * Br) : Fr;
          const vg = withB ? Fg + a * (I1 - a * Fg - m * Bg) : Fg;
          const vb = withB ? Fb + a * (I2 - a * Fb - m * Bb) : Fb;
          packed |= clampByte(vr) | (clampByte(vg) << 8) | (clampByte(vb) << 16);
        }
        writes.push(i, packed);
      }
    }
  });
  for (let k = 0; k < writes.count; k++) alpha[writes.index[k]!] = writes.value[k]! >>> 24;
  return colours ? { index: writes.index.subarray(0, writes.count), rgba: writes.value.subarray(0, writes.count) } : undefined;
}

/**
 * Soft pixels' foreground colours as `colourLineAlpha` found them (packed RGBA, alpha in the top
 * byte), to be written over a cutout composed with the same alpha (`applyBandColours`).
 */
export interface BandColourList {
  index: Uint32Array;
  rgba: Uint32Array;
}

/**
 * Write the band colours into a cutout (RGBA bytes, four-aligned: composeRgba's).
 * @example applyBandColours(rgba, colourLineAlpha(image, alpha, 16, { colours: true })!)
 */
export function applyBandColours(rgba: Uint8Array, band: BandColourList): void {
  const px = new Uint32Array(rgba.buffer, rgba.byteOffset, rgba.byteLength >> 2);
  for (let k = 0; k < band.index.length; k++) px[band.index[k]!] = band.rgba[k]!;
}

function clampByte(v: number): number {
  const r = Math.round(v);
  return r <= 0 ? 0 : r >= 255 ? 255 : r;
}

