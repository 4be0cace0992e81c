import type { RgbImage } from '../decode.js';
import { forEachSoftTile, PixelWrites, tileFor } from './soft-tiles.js';

/** Fewer opaque pixels than this in a pixel's window: no band colour either (as alpha/colour.ts). */
const MIN_DEFINITE = 3;
/** Fewer opaque or clear pixels than this in a box: no colour line from it (the window's: the alpha stays). */
const MIN_SIDE = 4;
/** Foreground and background means closer than this (RGB distance squared) do not define a line. */
const MIN_LINE = 12 * 12;
/** The window and its two halves along the outline: the boxes whose mean colours are tried as a pixel's two sides. */
const BOXES = 3;

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
 * The two sides are sampled, not only averaged (the idea of sampling-based matting, e.g.
 * Gastal and Oliveira's shared sampling): the means of the whole window and of its two halves
 * along the outline are tried as F and as B (nine pairs), and the pair whose segment passes
 * closest to the pixel's colour is used. Where the fur or the background changes colour along
 * the edge inside the window (a dark patch beside a light one, sky next to grass), the half
 * on the pixel's own side holds the colours that mixed into it. Quality bench set A, edge
 * colour error 3.84 -> 3.68 (all other steps as now), for 45-90 ms more per 12 MP photo (the
 * raccoon: 338k soft pixels; this step alone 131-141 -> 183-188 ms, the edge stage 199-218 ->
 * 299-306 ms) than the whole window alone; all four halves (25 pairs) 3.64 for about twice that.
 * With `colours`, the same sums also give each soft pixel its band colour (what alpha/colour.ts
 * `bandColours` computes with the new alpha, in the same pass instead of a second one over
 * the band: ~80 ms per 12 MP photo), returned for `applyBandColours`.
 * @example const band = colourLineAlpha(image, alpha, 12, { colours: true }) // alpha in place
 */
export function colourLineAlpha(image: RgbImage, alpha: Uint8Array, radius: number, options: { colours?: boolean; tile?: number } = {}): BandColourList | undefined {
  const colours = options.colours ?? false;
  const { width: W, height: H, data: rgb } = image;
  if (alpha.length !== W * H || rgb.length !== W * H * 3) throw new Error(`colourLineAlpha: ${alpha.length} alpha values and ${rgb.length} colour bytes for a ${W}x${H} image`);
  const r = Math.max(1, Math.round(radius));
  const T = options.tile ?? tileFor(r);
  const side = T + 2 * r;
  // Per cell, interleaved: opaque R, G, B, sum of squares, count; clear R, G, B, sum of squares, count.
  const K = 10;
  const sat = new Float64Array((side + 1) * (side + 1) * K);
  // Per pixel: each box's K sums.
  const sums = new Float64Array(BOXES * K);
  // Per pixel: each box's opaque and clear mean colours (NaN: too few pixels of that side).
  const means = new Float64Array(BOXES * 6);
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
        boxSums(sat, sums, 0, ya, yb, xa, xb);
        const nf = sums[4]!;
        const nb = sums[9]!;
        if (nf < MIN_DEFINITE) continue;
        const I0 = rgb[i * 3]!, I1 = rgb[i * 3 + 1]!, I2 = rgb[i * 3 + 2]!;
        // The pair of boxes whose opaque and clear means explain the pixel best (the whole window when none is usable).
        let f = 0;
        let g = 0;
        if (nf >= MIN_SIDE && nb >= MIN_SIDE) {
          // Halves split along the outline (the alpha's gradient is across it): a vertical edge
          // is split into its top and bottom halves, whose fur and background colours differ.
          const gx = (x + 1 < W ? alpha[i + 1]! : a8) - (x > 0 ? alpha[i - 1]! : a8);
          const gy = (y + 1 < H ? alpha[i + W]! : a8) - (y > 0 ? alpha[i - W]! : a8);
          if (Math.abs(gx) >= Math.abs(gy)) {
            boxSums(sat, sums, K, ya, (ly + 1) * sk, xa, xb);
            boxSums(sat, sums, 2 * K, ly * sk, yb, xa, xb);
          } else {
            boxSums(sat, sums, K, ya, yb, xa, (lx + 1) * K);
            boxSums(sat, sums, 2 * K, ya, yb, lx * K, xb);
          }
          // Each box's two means once (a division per channel), then the nine pairs from them.
          for (let b = 0, o = 0; b < BOXES; b++, o += K) {
            const fn = sums[o + 4]!;
            const bn = sums[o + 9]!;
            for (let c = 0; c < 3; c++) {
              means[b * 6 + c] = fn >= MIN_SIDE ? sums[o + c]! / fn : NaN;
              means[b * 6 + 3 + c] = bn >= MIN_SIDE ? sums[o + 5 + c]! / bn : NaN;
            }
          }
          let best = Infinity;
          for (let fb = 0; fb < BOXES; fb++) {
            const Fr = means[fb * 6]!, Fg = means[fb * 6 + 1]!, Fb = means[fb * 6 + 2]!;
            if (Fr !== Fr) continue; // too few opaque pixels in this box
            for (let bb = 0; bb < BOXES; bb++) {
              const Br = means[bb * 6 + 3]!, Bg = means[bb * 6 + 4]!, Bb = means[bb * 6 + 5]!;
              if (Br !== Br) continue;
              const dr = Fr - Br, dg = Fg - Bg, db = Fb - Bb;
              const len2 = dr * dr + dg * dg + db * db;
              if (len2 < MIN_LINE) continue;
              // Squared colour distance from the pixel to the nearest point of the F-B segment (not
              // divided by the segment's length: set A 3.68 as it is, 3.72 divided).
              const line = ((I0 - Br) * dr + (I1 - Bg) * dg + (I2 - Bb) * db) / len2;
              const t = line <= 0 ? 0 : line >= 1 ? 1 : line;
              const er = I0 - Br - t * dr, eg = I1 - Bg - t * dg, eb = I2 - Bb - t * db;
              const d = er * er + eg * eg + eb * eb;
              // Strictly better only: the whole window (box 0) wins ties.
              if (d < best) {
                best = d;
                f = fb * K;
                g = bb * K;
              }
            }
          }
        }
        const fn = sums[f + 4]!;
        const Fr = sums[f]! / fn, Fg = sums[f + 1]! / fn, Fb = sums[f + 2]! / fn;
        const bn = sums[g + 9]!;
        let a = a8 / 255;
        let Br = 0, Bg = 0, Bb = 0;
        if (nb >= MIN_DEFINITE) {
          Br = sums[g + 5]! / bn;
          Bg = sums[g + 6]! / bn;
          Bb = sums[g + 7]! / bn;
        }
        const dr = Fr - Br, dg = Fg - Bg, db = Fb - Bb;
        const len2 = dr * dr + dg * dg + db * db;
        if (nf >= MIN_SIDE && nb >= MIN_SIDE && len2 >= MIN_LINE) {
          // Pooled colour variance of the chosen boxes' two sides (sum over channels).
          const spread = Math.max(0, sums[f + 3]! / fn - (Fr * Fr + Fg * Fg + Fb * Fb)) + Math.max(0, sums[g + 8]! / bn - (Br * Br + Bg * Bg + Bb * Bb));
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

/** The K sums of the box rows `ya`..`yb`, columns `xa`..`xb` (table offsets) into `sums` at `o`. */
function boxSums(sat: Float64Array, sums: Float64Array, o: number, ya: number, yb: number, xa: number, xb: number): void {
  const p11 = yb + xb, p01 = ya + xb, p10 = yb + xa, p00 = ya + xa;
  for (let c = 0; c < 10; c++) sums[o + c] = sat[p11 + c]! - sat[p01 + c]! - sat[p10 + c]! + sat[p00 + c]!;
}

function clampByte(v: number): number {
  const r = Math.round(v);
  return r <= 0 ? 0 : r >= 255 ? 255 : r;
}

