import { labelComponents } from './components.js';

/** The subject found in a map, after islands are removed. */
export interface Subject {
  /** Per pixel 1 where the (binary) subject is: map >= 128 and in a kept part. */
  mask: Uint8Array;
  /**
   * Per pixel 1 where the alpha may be non-zero: the faint surroundings (map >= joinLevel)
   * of kept parts. Outside it everything is background, ghosts included.
   */
  keep: Uint8Array;
  /** Pixels in `mask`. */
  area: number;
  /** The areas (in `mask`) of the separate kept parts (not joined even faintly), largest first. */
  parts: number[];
}

/**
 * Remove islands: parts of the subject (map >= 128, eight-connected) that are not the main
 * (largest) part, are not joined to it through faint map values (>= `joinLevel`: a strap, a
 * paw seen through grass is one subject with the rest) and are smaller than `minFraction` of
 * it. Why: a salient-object model lights up bits of clutter (a leaf, a reflection) as small
 * blobs, which print as specks around a pet; a large separate part is more likely a second
 * pet, which is kept and reported (`parts`) instead of guessed away. `minFraction` 0 keeps
 * every part. Removed parts take their faint surroundings with them (the `keep` region).
 * @example const { mask, keep, parts } = removeIslands(alpha8, 1024, 1024, 0.15, 26)
 */
export function removeIslands(alpha: Uint8Array, width: number, height: number, minFraction: number, joinLevel: number): Subject {
  const n = width * height;
  const join = Math.min(joinLevel, 128);
  const strongMask = new Uint8Array(n);
  const weakMask = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const a = alpha[i]!;
    strongMask[i] = a >= 128 ? 1 : 0;
    weakMask[i] = a >= join ? 1 : 0;
  }
  const strong = labelComponents(width, height, strongMask, true);
  const weak = labelComponents(width, height, weakMask, true);
  let main = 0;
  for (let c = 1; c < strong.areas.length; c++) if (main === 0 || strong.areas[c]! > strong.areas[main]!) main = c;
  const mask = new Uint8Array(n);
  const keep = new Uint8Array(n);
  if (main === 0) return { mask, keep, area: 0, parts: [] };
  // The faint region (weak component) of each strong part: one pixel of it tells.
  const weakOf = new Int32Array(strong.areas.length);
  for (let i = 0; i < n; i++) {
    const s = strong.labels[i]!;
    if (s !== 0 && weakOf[s] === 0) weakOf[s] = weak.labels[i]!;
  }
  const mainWeak = weakOf[main]!;
  const mainArea = strong.areas[main]!;
  const keptWeak = new Uint8Array(weak.areas.length);
  for (let c = 1; c < strong.areas.length; c++) {
    const w = weakOf[c]!;
    if (minFraction > 0 && w !== mainWeak && strong.areas[c]! < minFraction * mainArea) continue;
    keptWeak[w] = 1;
  }
  // A small part faintly joined to a kept one is kept with it: the same subject.
  const partArea = new Float64Array(weak.areas.length);
  let area = 0;
  for (let i = 0; i < n; i++) {
    const w = weak.labels[i]!;
    if (!keptWeak[w]) continue;
    keep[i] = 1;
    if (strongMask[i]) {
      mask[i] = 1;
      area++;
      partArea[w]!++;
    }
  }
  return { mask, keep, area, parts: [...partArea].filter((a) => a > 0).sort((a, b) => b - a) };
}
