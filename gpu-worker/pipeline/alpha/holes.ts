import { labelComponents } from './components.js';

/**
 * Fill holes: background regions (four-connected) enclosed by the subject and smaller than
 * `maxFraction` of its area join the subject, in `mask` itself. Why: a salient-object map
 * often dips inside a pet where the fur is light or shiny (a white chest, an eye's
 * highlight), which prints as a see-through patch; a real gap (between a leg and the body)
 * is large and stays. 0 = off. Returns the number of pixels filled.
 *
 * With `map` given, a hole is filled only when at most `clearMax` of its pixels are clearly
 * background (map <= `clearLevel`). Why: where the model hedged (a dip to 60-120 in a white
 * chest) the hole is the model's doubt; where it is sure there is background (a small gap
 * a curled tail or a leg encloses: the ferret in the quality bench, IoU 0.992 -> 0.986
 * when filled) the gap is real. Without `map` every enclosed hole below the size is filled.
 * @example const filled = fillHoles(subject.mask, 1024, 1024, 0.02, { map: alpha8, clearLevel: 38, clearMax: 0.5 })
 */
export function fillHoles(mask: Uint8Array, width: number, height: number, maxFraction: number, confidence?: { map: Uint8Array; clearLevel: number; clearMax: number }): number {
  if (maxFraction <= 0) return 0;
  let area = 0;
  for (let i = 0; i < mask.length; i++) area += mask[i]!;
  if (area === 0) return 0;
  const outside = new Uint8Array(mask.length);
  for (let i = 0; i < mask.length; i++) outside[i] = mask[i] === 0 ? 1 : 0;
  const background = labelComponents(width, height, outside, false);
  const limit = maxFraction * area;
  const fill = Uint8Array.from(background.areas, (a, c) => (c > 0 && !background.touchesBorder[c] && a <= limit ? 1 : 0));
  // No enclosed hole small enough (the common case): nothing to count or fill.
  if (!fill.includes(1)) return 0;
  if (confidence) {
    // Clearly-background pixels per candidate hole; holes the model is sure of stay open.
    const clear = new Float64Array(background.areas.length);
    const { map, clearLevel, clearMax } = confidence;
    for (let i = 0; i < mask.length; i++) {
      const c = background.labels[i]!;
      if (fill[c] && map[i]! <= clearLevel) clear[c]!++;
    }
    for (let c = 1; c < fill.length; c++) if (fill[c] && clear[c]! > clearMax * background.areas[c]!) fill[c] = 0;
  }
  let filled = 0;
  for (let i = 0; i < mask.length; i++) {
    if (fill[background.labels[i]!]) {
      mask[i] = 1;
      filled++;
    }
  }
  return filled;
}
