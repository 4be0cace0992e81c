import type { RgbImage } from '../decode.js';

/** Fewer definite pixels than this in a pixel's window: keep the colour the grid gave it. */
const MIN_DEFINITE = 3;

/**
 * Foreground colour of the soft pixels (0 < alpha < 255) from their definite neighbours:
 * per soft pixel, the mean colour of the fully opaque (F) and fully clear (B) pixels within
 * `radius`, then `F + a (I - a F - (1 - a) B)` (the same estimate as refine.ts, Forte and
 * Pitie), written into `rgba` in place. Why: refine.ts's means are alpha-weighted over a
 * 12-px blur, so the soft band's own mixed colours leak into the foreground mean, and that
 * leak is the halo left after refinement; with the decisive alpha, opaque and clear pixels
 * lie right next to the band, and their colours are the unmixed ones. Works in tiles that
 * hold soft pixels (summed-area tables over the tile plus the radius), so its cost follows
 * the outline's length, not the photo's size. Pixels without enough definite neighbours
 * keep the colour they have.
 * @example bandColours(image, alpha, rgba, 8) // rgba from composeRgba(image, alpha, grid)
 */
export function bandColours(image: RgbImage, alpha: Uint8Array, rgba: Uint8Array, radius: number, tile = 64): void {
  const { width: W, height: H, data: rgb } = image;
  if (alpha.length !== W * H || rgba.length !== W * H * 4) throw new Error(`bandColours: ${alpha.length} alpha values and ${rgba.length} RGBA bytes for a ${W}x${H} image`);
  const r = Math.max(1, Math.round(radius));
  const T = tile;
  const side = T + 2 * r;
  const stride = side + 1;
  // Per definite class (opaque, clear): sums of R, G, B and the count, as summed-area tables.
  const sums = Array.from({ length: 8 }, () => new Float64Array(stride * stride));
  const rowAcc = new Float64Array(8);
  for (let y0 = 0; y0 < H; y0 += T) {
    for (let x0 = 0; x0 < W; x0 += T) {
      const x1 = Math.min(W, x0 + T);
      const y1 = Math.min(H, y0 + T);
      let soft = false;
      for (let y = y0; y < y1 && !soft; y++) for (let x = x0, i = y * W + x0; x < x1; x++, i++) if (alpha[i] !== 0 && alpha[i] !== 255) { soft = true; break; }
      if (!soft) continue;
      const rx0 = Math.max(0, x0 - r);
      const ry0 = Math.max(0, y0 - r);
      const rw = Math.min(W, x1 + r) - rx0;
      const rh = Math.min(H, y1 + r) - ry0;
      const s = rw + 1;
      for (const t of sums) t.fill(0, 0, s);
      for (let y = 0; y < rh; y++) {
        rowAcc.fill(0);
        const row = (y + 1) * s;
        for (const t of sums) t[row] = 0;
        for (let x = 0, i = (y + ry0) * W + rx0; x < rw; x++, i++) {
          const a = alpha[i]!;
          const k = a === 255 ? 0 : a === 0 ? 4 : -1;
          if (k >= 0) {
            rowAcc[k] = rowAcc[k]! + rgb[i * 3]!;
            rowAcc[k + 1] = rowAcc[k + 1]! + rgb[i * 3 + 1]!;
            rowAcc[k + 2] = rowAcc[k + 2]! + rgb[i * 3 + 2]!;
            rowAcc[k + 3] = rowAcc[k + 3]! + 1;
          }
          const j = row + x + 1;
          const up = y * s + x + 1;
          for (let c = 0; c < 8; c++) sums[c]![j] = sums[c]![up]! + rowAcc[c]!;
        }
      }
      const box = (t: Float64Array, xa: number, ya: number, xb: number, yb: number): number => t[yb * s + xb]! - t[ya * s + xb]! - t[yb * s + xa]! + t[ya * s + xa]!;
      for (let y = y0; y < y1; y++) {
        const ly = y - ry0;
        const ya = Math.max(0, ly - r);
        const yb = Math.min(rh, ly + r + 1);
        for (let x = x0; x < x1; x++) {
          const i = y * W + x;
          const a8 = alpha[i]!;
          if (a8 === 0 || a8 === 255) continue;
          const lx = x - rx0;
          const xa = Math.max(0, lx - r);
          const xb = Math.min(rw, lx + r + 1);
          const nf = box(sums[3]!, xa, ya, xb, yb);
          const nb = box(sums[7]!, xa, ya, xb, yb);
          if (nf < MIN_DEFINITE) continue;
          const a = a8 / 255;
          for (let c = 0; c < 3; c++) {
            const f = box(sums[c]!, xa, ya, xb, yb) / nf;
            // Without clear neighbours the background is what the pixel's mix implies with F = f.
            const I = rgb[i * 3 + c]!;
            const b = nb >= MIN_DEFINITE ? box(sums[4 + c]!, xa, ya, xb, yb) / nb : a < 1 ? (I - a * f) / (1 - a) : f;
            const v = f + a * (I - a * f - (1 - a) * b);
            rgba[i * 4 + c] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
          }
        }
      }
    }
  }
}
