import type { ModelSpec } from '../../model/spec.js';
import type { SaliencyMap } from '../infer.js';
import { mapToAlpha } from '../postprocess.js';
import { decisiveAlpha, type AlphaAnalysis } from './decisive.js';
import type { AlphaSpec } from './options.js';
import { isNoSubject, qualityOf, type Quality } from './quality.js';

/** The alpha at the map's size, decided, with what the verdict needs. */
export interface PreparedAlpha {
  alpha: Uint8Array;
  width: number;
  height: number;
  analysis: AlphaAnalysis;
  quality: Quality;
  /** No subject found (see `isNoSubject`): the job should fail with `no_subject`. */
  noSubject: boolean;
}

/**
 * Map -> decided alpha at the map's size, the analysis and the quality verdict. `photo`: the
 * size the alpha will be enlarged to (how the band is decided depends on it, see `curveEnlarged`).
 * @example const prepared = prepareAlpha(map, spec.output, spec.alpha, image)
 */
export function prepareAlpha(map: SaliencyMap, output: Pick<ModelSpec['output'], 'kind' | 'minMax'>, spec: AlphaSpec, photo?: { width: number; height: number }): PreparedAlpha {
  const a8 = mapToAlpha(map, output);
  const enlargement = photo ? Math.max(photo.width / map.width, photo.height / map.height) : 1;
  const { alpha, analysis } = decisiveAlpha(a8, map.width, map.height, spec, enlargement);
  return { alpha, width: map.width, height: map.height, analysis, quality: qualityOf(analysis), noSubject: isNoSubject(analysis, mapPeak(map, output.kind)) };
}

/** The map's largest value as a probability (a sigmoid for logits). */
export function mapPeak(map: SaliencyMap, kind: ModelSpec['output']['kind']): number {
  let max = -Infinity;
  for (let i = 0; i < map.data.length; i++) if (map.data[i]! > max) max = map.data[i]!;
  return kind === 'logits' ? 1 / (1 + Math.exp(-max)) : max;
}
