import type { RgbImage } from '../decode.js';
import { hasSoft } from './soft-tiles.js';

export interface EdgeOptions {
  /** Window radius of the guided filter, in full-resolution pixels. */
  radius: number;
  /** Regularisation (guide units squared): larger follows the photo less. */
  eps?: number;
  /** Side of the tiles the band is processed in. */
  tile?: number;
}

/** Fewer fully opaque or fully clear pixels than this in a tile's window: no colour axis there. */
const MIN_SIDE_PIXELS = 8;
/** Foreground and background means closer than this (RGB distance squared) do not define an axis. */
const MIN_AXIS = 15 * 15;
/** How much the sides' colour spread counts against the axis's length in the guide's trust. */
const TRUST_SPREAD = 4;

/**
 * Make the enlarged alpha's soft band follow the full-resolution photo: a guided filter
 * (He, Sun and Tang) computed only in tiles that hold soft pixels (0 < alpha < 255) and
 * written only to those pixels; fully opaque and fully clear pixels are never touched.
 * Why: the alpha comes from a 1024-px map, so on a 12 MP photo its edge is a ramp about
 * four times too wide; fitting it locally as a linear function of the photo puts the edge
 * where the photo's is. A filter over the whole map blurs interiors with the photo's
 * texture (MAE 0.0065 -> 0.0113 in the issue); restricted to the band it cannot.
 *
 * The guide is, per tile, the photo projected on its own foreground-background colour
 * axis (mean colour of the opaque pixels minus that of the clear ones around the tile):
 * one channel, so the filter stays cheap, which still separates a brown dog from green
 * grass of the same brightness (a grey guide does not). Tiles without both sides use luma.
 * The projection is itself an alpha estimate (the two-colour model of matting), exact where
 * both sides are flat colours but noisy on texture, so each tile mixes it with the filter's
 * output by how well its sides' colours are separated against their spread.
 * @example const sharp = edgeAwareAlpha(image, alpha, { radius: 8 })
 */
export function edgeAwareAlpha(image: RgbImage, alpha: Uint8Array, options: EdgeOptions): Buffer {
  const { width: W, height: H, data: rgb } = image;
  if (alpha.length !== W * H || rgb.length !== W * H * 3) throw new Error(`edgeAwareAlpha: ${alpha.length} alpha values and ${rgb.length} colour bytes for a ${W}x${H} image`);
  const r = Math.max(1, Math.round(options.radius));
  const eps = options.eps ?? 0.004;
  const T = options.tile ?? 64;
  const out = Buffer.from(alpha);
  const tilesX = Math.ceil(W / T);
  const tilesY = Math.ceil(H / T);
  // Which tiles hold a soft pixel (each scan stops at the first).
  const active = new Uint8Array(tilesX * tilesY);
  for (let ty = 0; ty < tilesY; ty++) for (let tx = 0; tx < tilesX; tx++) active[ty * tilesX + tx] = hasSoft(alpha, W, tx * T, ty * T, Math.min(W, tx * T + T), Math.min(H, ty * T + T)) ? 1 : 0;
  // Scratch buffers sized for the largest region (a tile plus two radii on each side).
  const side = T + 4 * r;
  const cap = (side + 1) * (side + 1);
  const g = new Float32Array(side * side);
  const p = new Float32Array(side * side);
  const sG = new Float64Array(cap);
  const sP = new Float64Array(cap);
  const sGP = new Float64Array(cap);
  const sGG = new Float64Array(cap);
  const A = new Float32Array(side * side);
  const B = new Float32Array(side * side);
  const sA = new Float64Array(cap);
  const sB = new Float64Array(cap);

  for (let ty = 0; ty < tilesY; ty++) {
    for (let tx = 0; tx < tilesX; tx++) {
      if (!active[ty * tilesX + tx]) continue;
      const x0 = tx * T;
      const y0 = ty * T;
      const x1 = Math.min(W, x0 + T);
      const y1 = Math.min(H, y0 + T);
      // Region: the tile plus 2r (the coefficients at the tile's pixels average over r, each over r more).
      const rx0 = Math.max(0, x0 - 2 * r);
      const ry0 = Math.max(0, y0 - 2 * r);
      const rx1 = Math.min(W, x1 + 2 * r);
      const ry1 = Math.min(H, y1 + 2 * r);
      const rw = rx1 - rx0;
      const rh = ry1 - ry0;
      const trust = guide(rgb, alpha, W, rx0, ry0, rw, rh, g, p);
      integrals(g, p, rw, rh, sG, sP, sGP, sGG);
      // Coefficients over the tile plus r, each from its window clamped to the region.
      const cx0 = Math.max(rx0, x0 - r) - rx0;
      const cy0 = Math.max(ry0, y0 - r) - ry0;
      const cx1 = Math.min(rx1, x1 + r) - rx0;
      const cy1 = Math.min(ry1, y1 + r) - ry0;
      const stride = rw + 1;
      for (let y = cy0; y < cy1; y++) {
        const ya = Math.max(0, y - r);
        const yb = Math.min(rh, y + r + 1);
        for (let x = cx0; x < cx1; x++) {
          const xa = Math.max(0, x - r);
          const xb = Math.min(rw, x + r + 1);
          const k = 1 / ((yb - ya) * (xb - xa));
          const i00 = ya * stride + xa;
          const i01 = ya * stride + xb;
          const i10 = yb * stride + xa;
          const i11 = yb * stride + xb;
          const mg = (sG[i11]! - sG[i01]! - sG[i10]! + sG[i00]!) * k;
          const mp = (sP[i11]! - sP[i01]! - sP[i10]! + sP[i00]!) * k;
          const mgp = (sGP[i11]! - sGP[i01]! - sGP[i10]! + sGP[i00]!) * k;
          const mgg = (sGG[i11]! - sGG[i01]! - sGG[i10]! + sGG[i00]!) * k;
          const a = (mgp - mg * mp) / (mgg - mg * mg + eps);
          A[y * rw + x] = a;
          B[y * rw + x] = mp - a * mg;
        }
      }
      // Integrals of the coefficients over their own extent, then the output at the tile's soft pixels.
      const cw = cx1 - cx0;
      const ch = cy1 - cy0;
      const cs = cw + 1;
      sA.fill(0, 0, cs);
      sB.fill(0, 0, cs);
      for (let y = 0; y < ch; y++) {
        let ra = 0;
        let rb = 0;
        sA[(y + 1) * cs] = 0;
        sB[(y + 1) * cs] = 0;
        for (let x = 0; x < cw; x++) {
          const j = (y + cy0) * rw + x + cx0;
          ra += A[j]!;
          rb += B[j]!;
          sA[(y + 1) * cs + x + 1] = sA[y * cs + x + 1]! + ra;
          sB[(y + 1) * cs + x + 1] = sB[y * cs + x + 1]! + rb;
        }
      }
      for (let y = y0; y < y1; y++) {
        const ly = y - ry0 - cy0;
        const ya = Math.max(0, ly - r);
        const yb = Math.min(ch, ly + r + 1);
        for (let x = x0; x < x1; x++) {
          const i = y * W + x;
          const a8 = alpha[i]!;
          if (a8 === 0 || a8 === 255) continue;
          const lx = x - rx0 - cx0;
          const xa = Math.max(0, lx - r);
          const xb = Math.min(cw, lx + r + 1);
          const k = 1 / ((yb - ya) * (xb - xa));
          const ma = (sA[yb * cs + xb]! - sA[ya * cs + xb]! - sA[yb * cs + xa]! + sA[ya * cs + xa]!) * k;
          const mb = (sB[yb * cs + xb]! - sB[ya * cs + xb]! - sB[yb * cs + xa]! + sB[ya * cs + xa]!) * k;
          const gv = g[(y - ry0) * rw + (x - rx0)]!;
          // The guide as the alpha (two-colour matting: I = a F + (1 - a) B on the tile's axis), as far as it is trusted.
          const direct = gv <= 0 ? 0 : gv >= 1 ? 1 : gv;
          const q = (trust * direct + (1 - trust) * (ma * gv + mb)) * 255 + 0.5;
          out[i] = q <= 0 ? 0 : q >= 255 ? 255 : q;
        }
      }
    }
  }
  return out;
}

/**
 * The region's guide (photo on its colour axis, else luma, both about 0..1) and input (alpha
 * 0..1); returns how far the guide itself can be trusted as the alpha (0..1): the axis's
 * length against the spread of the colours on either side of it (two flat colours: 1; a
 * textured pet on a textured background: near 0).
 */
function guide(rgb: Uint8Array, alpha: Uint8Array, W: number, rx0: number, ry0: number, rw: number, rh: number, g: Float32Array, p: Float32Array): number {
  let nf = 0, nb = 0, fr = 0, fg = 0, fb = 0, br = 0, bg = 0, bb = 0, f2 = 0, b2 = 0;
  for (let y = 0; y < rh; y++) {
    for (let x = 0, i = (y + ry0) * W + rx0; x < rw; x++, i++) {
      const a = alpha[i]!;
      p[y * rw + x] = a / 255;
      if (a === 255) {
        nf++;
        fr += rgb[i * 3]!;
        fg += rgb[i * 3 + 1]!;
        fb += rgb[i * 3 + 2]!;
        f2 += rgb[i * 3]! ** 2 + rgb[i * 3 + 1]! ** 2 + rgb[i * 3 + 2]! ** 2;
      } else if (a === 0) {
        nb++;
        br += rgb[i * 3]!;
        bg += rgb[i * 3 + 1]!;
        bb += rgb[i * 3 + 2]!;
        b2 += rgb[i * 3]! ** 2 + rgb[i * 3 + 1]! ** 2 + rgb[i * 3 + 2]! ** 2;
      }
    }
  }
  let dr = 0, dg = 0, db = 0, or = 0, og = 0, ob = 0, spread = 0;
  if (nf >= MIN_SIDE_PIXELS && nb >= MIN_SIDE_PIXELS) {
    // Total colour variance of each side (sum over channels), a pooled spread.
    spread = f2 / nf - ((fr / nf) ** 2 + (fg / nf) ** 2 + (fb / nf) ** 2) + b2 / nb - ((br / nb) ** 2 + (bg / nb) ** 2 + (bb / nb) ** 2);
    or = br / nb;
    og = bg / nb;
    ob = bb / nb;
    dr = fr / nf - or;
    dg = fg / nf - og;
    db = fb / nf - ob;
  }
  const len2 = dr * dr + dg * dg + db * db;
  const trust = len2 < MIN_AXIS ? 0 : len2 / (len2 + TRUST_SPREAD * Math.max(0, spread));
  if (len2 < MIN_AXIS) {
    // Rec. 601 luma in 0..1.
    or = og = ob = 0;
    dr = 0.299 / 255;
    dg = 0.587 / 255;
    db = 0.114 / 255;
  } else {
    dr /= len2;
    dg /= len2;
    db /= len2;
  }
  for (let y = 0; y < rh; y++) {
    for (let x = 0, i = (y + ry0) * W + rx0; x < rw; x++, i++) {
      g[y * rw + x] = (rgb[i * 3]! - or) * dr + (rgb[i * 3 + 1]! - og) * dg + (rgb[i * 3 + 2]! - ob) * db;
    }
  }
  return trust;
}

/** Summed-area tables (one row and column of zeros first) of g, p, g*p and g*g over the region. */
function integrals(g: Float32Array, p: Float32Array, rw: number, rh: number, sG: Float64Array, sP: Float64Array, sGP: Float64Array, sGG: Float64Array): void {
  const s = rw + 1;
  for (let x = 0; x <= rw; x++) sG[x] = sP[x] = sGP[x] = sGG[x] = 0;
  for (let y = 0; y < rh; y++) {
    let a = 0, b = 0, c = 0, d = 0;
    const row = (y + 1) * s;
    sG[row] = sP[row] = sGP[row] = sGG[row] = 0;
    for (let x = 0; x < rw; x++) {
      const gv = g[y * rw + x]!;
      const pv = p[y * rw + x]!;
      a += gv;
      b += pv;
      c += gv * pv;
      d += gv * gv;
      const j = row + x + 1;
      const up = y * s + x + 1;
      sG[j] = sG[up]! + a;
      sP[j] = sP[up]! + b;
      sGP[j] = sGP[up]! + c;
      sGG[j] = sGG[up]! + d;
    }
  }
}
