import type { SaliencyMap } from '../infer.js';
import type { AlphaAnalysis } from './decisive.js';
import type { AlphaSpec } from './options.js';

/** A rectangle of the photo, in its pixels. */
export interface Crop {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** A crop this large (fraction of the frame) shows the model nothing new: no second look. */
const MAX_CROP_SHARE = 0.5;
/** Map pixels over which the second map fades into the first at the crop's border (no seam). */
const FEATHER = 8;

/**
 * Where to look again: the subject's box, padded by `secondLookPad` of its larger side on
 * every side and made square in the photo's pixels (the model then sees the subject
 * undistorted), clamped into the frame; undefined when the subject is not small
 * (`secondLookBelow`), there is none, or the crop would cover most of the frame anyway.
 * @example const crop = secondLookCrop(prepared.analysis, 4032, 3024, spec.alpha)
 */
export function secondLookCrop(a: AlphaAnalysis, width: number, height: number, spec: Pick<AlphaSpec, 'secondLookBelow' | 'secondLookPad'>): Crop | undefined {
  const below = spec.secondLookBelow ?? 0;
  if (!a.box || below <= 0 || a.subjectArea >= below * a.width * a.height) return undefined;
  const sx = width / a.width;
  const sy = height / a.height;
  const bw = (a.box.right - a.box.left) * sx;
  const bh = (a.box.bottom - a.box.top) * sy;
  const cx = ((a.box.left + a.box.right) / 2) * sx;
  const cy = ((a.box.top + a.box.bottom) / 2) * sy;
  const side = Math.max(bw, bh) * (1 + 2 * spec.secondLookPad);
  const cw = Math.min(width, Math.round(side));
  const ch = Math.min(height, Math.round(side));
  if (cw * ch > MAX_CROP_SHARE * width * height) return undefined;
  const left = Math.min(width - cw, Math.max(0, Math.round(cx - cw / 2)));
  const top = Math.min(height - ch, Math.max(0, Math.round(cy - ch / 2)));
  return { left, top, width: cw, height: ch };
}

/**
 * The first map with the crop's map resampled (bilinear) into the crop's place, fading
 * over `FEATHER` map pixels at the crop's border where the crop does not reach the frame's
 * edge. Why: the model saw the subject larger in the crop, so its map there is the better
 * one; outside the crop the first look is all there is.
 * @example const merged = mergeSecondLook(first, second, crop, image.width, image.height)
 */
export function mergeSecondLook(first: SaliencyMap, second: SaliencyMap, crop: Crop, width: number, height: number): SaliencyMap {
  const { width: mw, height: mh } = first;
  const data = Float32Array.from(first.data);
  const sx = width / mw;
  const sy = height / mh;
  const kx = second.width / crop.width;
  const ky = second.height / crop.height;
  // The crop's border in map pixels; a border on the frame's edge needs no fade.
  const bx0 = crop.left / sx;
  const by0 = crop.top / sy;
  const bx1 = (crop.left + crop.width) / sx;
  const by1 = (crop.top + crop.height) / sy;
  const fade = (d: number, onEdge: boolean): number => (onEdge ? 1 : Math.min(1, Math.max(0, d / FEATHER)));
  for (let my = Math.max(0, Math.floor(by0)); my < Math.min(mh, Math.ceil(by1)); my++) {
    const iy = (my + 0.5) * sy;
    if (iy < crop.top || iy >= crop.top + crop.height) continue;
    const wy = Math.min(fade(my + 0.5 - by0, crop.top === 0), fade(by1 - my - 0.5, crop.top + crop.height === height));
    const fy = Math.min(second.height - 1, Math.max(0, (iy - crop.top) * ky - 0.5));
    const y0 = Math.floor(fy);
    const y1 = Math.min(second.height - 1, y0 + 1);
    const ty = fy - y0;
    for (let mx = Math.max(0, Math.floor(bx0)); mx < Math.min(mw, Math.ceil(bx1)); mx++) {
      const ix = (mx + 0.5) * sx;
      if (ix < crop.left || ix >= crop.left + crop.width) continue;
      const w = Math.min(wy, fade(mx + 0.5 - bx0, crop.left === 0), fade(bx1 - mx - 0.5, crop.left + crop.width === width));
      const fx = Math.min(second.width - 1, Math.max(0, (ix - crop.left) * kx - 0.5));
      const x0 = Math.floor(fx);
      const x1 = Math.min(second.width - 1, x0 + 1);
      const tx = fx - x0;
      const s = second.data;
      const v = (s[y0 * second.width + x0]! * (1 - tx) + s[y0 * second.width + x1]! * tx) * (1 - ty) + (s[y1 * second.width + x0]! * (1 - tx) + s[y1 * second.width + x1]! * tx) * ty;
      const i = my * mw + mx;
      data[i] = w * v + (1 - w) * data[i]!;
    }
  }
  return { data, width: mw, height: mh };
}
