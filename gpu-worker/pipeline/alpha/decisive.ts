import { responseCurve } from './curve.js';
import { distanceAcross } from './distance.js';
import { fillHoles } from './holes.js';
import { removeIslands } from './islands.js';
import type { AlphaSpec } from './options.js';

/** Map levels that count as clearly in (>=) and clearly out (<=) for the quality verdict. */
export const CLEARLY_IN = 217;
export const CLEARLY_OUT = 38;

/** What the map says about the subject, in map pixels: the quality verdict's inputs. */
export interface AlphaAnalysis {
  width: number;
  height: number;
  /** The binary subject's area after islands and holes. */
  subjectArea: number;
  /** Areas of the separate kept parts, largest first. */
  parts: number[];
  /** Pixels beyond the boundary band that the map left neither clearly in nor clearly out. */
  uncertain: number;
  /** Fraction of each side of the frame (top, right, bottom, left) the subject touches. */
  sides: [number, number, number, number];
  /** The subject's bounding box (right and bottom exclusive); undefined when there is none. */
  box: { left: number; top: number; right: number; bottom: number } | undefined;
}

/**
 * The decisive alpha at the map's size: islands removed, holes filled (each switchable in
 * the spec), then 255 deeper than `bandInside` into the subject, 0 farther than
 * `bandOutside` from it, and the response curve on the model's own values in between.
 * Why: see-through interiors and ghosts are what made cutouts unsellable (issue 16); the
 * model's softness is only trusted where real partial coverage can be, along the outline.
 * With `decisive` off the alpha is returned as it came, but the analysis is still made.
 * `enlargement`: how many times the photo is larger than the map (its longer ratio).
 * @example const { alpha, analysis } = decisiveAlpha(alpha8, 1024, 1024, DEFAULT_ALPHA)
 */
export function decisiveAlpha(a8: Uint8Array, width: number, height: number, spec: AlphaSpec, enlargement = 1): { alpha: Uint8Array; analysis: AlphaAnalysis } {
  const n = width * height;
  if (a8.length !== n) throw new Error(`alpha has ${a8.length} values for a ${width}x${height} map`);
  const subject = removeIslands(a8, width, height, spec.islandMinFraction, spec.joinLevel);
  const { mask, keep } = subject;
  const filled = fillHoles(mask, width, height, spec.holeMaxFraction, spec.holeClearMax < 1 ? { map: a8, clearLevel: CLEARLY_OUT, clearMax: spec.holeClearMax } : undefined);
  // Inside the subject: distance to the background; outside: distance to the subject.
  const dist = distanceAcross(mask, width, height, spec.bandInside + 1, spec.bandOutside + 1);
  // The band keeps the model's own values when the photo decides it later at full resolution
  // (see `curveEnlarged`); the curve decides it when the map is all there is.
  const fittedLater = (spec.edgeAware || spec.colourLine) && enlargement >= spec.edgeMinScale && !spec.curveEnlarged;
  const lut = fittedLater ? responseCurve(0, 255) : responseCurve(spec.curveLow, spec.curveHigh);
  const alpha = spec.decisive ? new Uint8Array(n) : a8;
  let uncertain = 0;
  let left = width;
  let top = height;
  let right = 0;
  let bottom = 0;
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i++) {
      const v = a8[i]!;
      let out: number;
      if (mask[i]) {
        if (x < left) left = x;
        if (x >= right) right = x + 1;
        if (y < top) top = y;
        if (y >= bottom) bottom = y + 1;
        const deep = dist[i]! > spec.bandInside;
        if (deep && v < CLEARLY_IN) uncertain++;
        out = deep ? 255 : lut[v]!;
      } else {
        const far = dist[i]! > spec.bandOutside || !keep[i];
        if (far && v > CLEARLY_OUT) uncertain++;
        out = far ? 0 : lut[v]!;
      }
      if (spec.decisive) alpha[i] = out;
    }
  }
  const side = (from: number, step: number, count: number): number => {
    let s = 0;
    for (let k = 0, i = from; k < count; k++, i += step) s += mask[i]!;
    return s / count;
  };
  const sides: AlphaAnalysis['sides'] = [side(0, 1, width), side(width - 1, width, height), side((height - 1) * width, 1, width), side(0, width, height)];
  const subjectArea = subject.area + filled;
  return {
    alpha,
    analysis: { width, height, subjectArea, parts: subject.parts, uncertain, sides, box: subjectArea > 0 ? { left, top, right, bottom } : undefined },
  };
}
