import { z } from 'zod';

/**
 * What the pipeline does to the model's map before it becomes the alpha (issue 16). Part of
 * the model spec (`alpha`), because the right thresholds depend on how a model's map looks;
 * every step can be switched off, and all off is the rendering before these steps existed.
 * Levels are 0-255 on the map after `mapToAlpha`; distances are in map pixels unless named.
 */
export const AlphaSpec = z
  .object({
    /**
     * Decisive alpha: the binary subject (map >= 128) is cleaned (islands, holes) and only a
     * band of `bandInside`/`bandOutside` map pixels around its outline keeps soft values,
     * passed through the response curve; deeper inside is 255, farther out 0. Off = the map
     * as it comes (see-through interiors and ghosts included).
     */
    decisive: z.boolean().default(true),
    /**
     * Response curve in the band: at or below `curveLow` -> 0, at or above `curveHigh` -> 255,
     * linear between. Only where the photo does not decide the band later (see `curveEnlarged`).
     * Not symmetric around 128: the colour line (`colourLine`) fits the soft pixels to the photo
     * afterwards, but never those the curve made opaque, and a pixel made opaque keeps the
     * background that mixed into it. Quality bench set A, edge colour error: high 217 3.73,
     * 230 3.65, 240 3.64, 250 3.67 (low 38); low 30 3.70, 16 3.83 (high 240); IoU 0.985-0.986.
     */
    curveLow: z.number().int().min(0).max(254).default(38),
    curveHigh: z.number().int().min(1).max(255).default(240),
    /**
     * Also apply the curve when the band is fitted to the photo at full resolution afterwards
     * (`colourLine` or `edgeAware`, enlarged at least `edgeMinScale` times). Off: there the band
     * keeps the model's own values, so the uncertain zone the photo decides is the one the
     * model left, not one the curve already narrowed. Quality bench set A12 (12 MP, 7 of 20):
     * edge colour error 7.31 -> 6.75 without the curve there; set A (not enlarged) keeps it.
     */
    curveEnlarged: z.boolean().default(false),
    /** Band width inside the outline (map pixels); fur tips and edge pixels keep their softness here. */
    bandInside: z.number().int().min(0).max(64).default(3),
    /** Band width outside the outline (map pixels); whiskers and fly-away fur reach farther out than in. */
    bandOutside: z.number().int().min(0).max(64).default(5),
    /** Fill holes (background enclosed by the subject) smaller than this fraction of the subject's area; 0 = off. */
    holeMaxFraction: z.number().min(0).max(1).default(0.02),
    /**
     * A hole is filled only when at most this fraction of it is clearly background in the map
     * (<= 38, `CLEARLY_OUT`): the model's doubt is filled, a gap it is sure of (a tail's loop)
     * stays. 1 = fill every small hole. Quality bench set A: IoU 0.980 -> 0.982 (the ferret's loop).
     */
    holeClearMax: z.number().min(0).max(1).default(0.5),
    /**
     * Remove islands (parts of the subject not connected to the main one) smaller than this
     * fraction of the main part; 0 = off. Parts joined to the main one through faint map
     * values (>= `joinLevel`) are the same subject (a strap, a paw behind a blade of grass) and stay.
     */
    islandMinFraction: z.number().min(0).max(1).default(0.15),
    joinLevel: z.number().int().min(1).max(254).default(26),
    /**
     * Edge-aware enlargement: where the alpha is enlarged at least `edgeMinScale` times, the
     * soft band is re-fitted to the full-resolution photo (a guided filter on the band only,
     * alpha/edges.ts). Off by default since the colour line (`colourLine`) does the same job
     * per pixel: set A12 (7 of 20) edge colour error 6.77 with both, 6.78 with the colour line
     * alone, and the filter cost ~270 ms per 12 MP photo on 2 cores.
     */
    edgeAware: z.boolean().default(false),
    edgeMinScale: z.number().min(1).max(64).default(1.5),
    /**
     * The soft band's foreground colours from their opaque and clear neighbours
     * (alpha/colour.ts) after refinement, instead of refine.ts's wide alpha-weighted means only.
     */
    bandColours: z.boolean().default(true),
    /**
     * The soft band's alpha from the photo's colour line (alpha/colour-line.ts): per soft pixel,
     * its projection between the mean colours of the opaque and the clear pixels near it, as far
     * as their separation is trusted. Quality bench set A: edge colour error 5.07 -> 4.18 (with
     * the band colours only), IoU 0.982 -> 0.984.
     */
    colourLine: z.boolean().default(true),
    /**
     * Second pass of the foreground colour estimate (alpha/colour.ts `refineBandColours`):
     * Forte and Pitie's blur-fusion run again over a narrow window on the first pass's colours.
     * With the true alpha, set A's edge colour error 3.95 -> 2.7 (first pass only -> both).
     */
    secondPass: z.boolean().default(true),
    /**
     * Second look: when the subject covers less than this fraction of the frame, the model
     * runs again on the subject's padded crop and that map replaces the first one there; 0 = off.
     * Absent: `SECOND_LOOK_GPU` on a GPU provider, off on CPU (see `withProviderDefaults`).
     */
    secondLookBelow: z.number().min(0).max(1).optional(),
    /** Padding of the second look's crop on each side, as a fraction of the subject's larger side. */
    secondLookPad: z.number().min(0).max(2).default(0.35),
  })
  .strict()
  .refine((s) => s.curveLow < s.curveHigh, { error: 'curveLow must be below curveHigh', path: ['curveHigh'] });
export type AlphaSpec = z.infer<typeof AlphaSpec>;

/**
 * The second look's threshold where it is on by default. bench/quality.bench.ts, set C (10
 * subjects fitted in a quarter of the frame, 3-6% of its area): IoU 0.947 -> 0.968, edge colour
 * error 5.00 -> 3.71 for one more inference per small subject: ~50 ms on a GPU, a whole
 * second model run (seconds) on CPU, hence off there unless the spec asks.
 */
export const SECOND_LOOK_GPU = 0.15;

/**
 * The spec with the provider's defaults filled in (the second look: on for GPU providers).
 * @example const alpha = withProviderDefaults(spec.alpha, model.provider)
 */
export function withProviderDefaults(spec: AlphaSpec, provider: string): AlphaSpec & { secondLookBelow: number } {
  return { ...spec, secondLookBelow: spec.secondLookBelow ?? (provider === 'cpu' ? 0 : SECOND_LOOK_GPU) };
}

/** The defaults (every step on as chosen from bench/quality.bench.ts). */
export const DEFAULT_ALPHA: AlphaSpec = AlphaSpec.parse({});

/** Every step off: the rendering before issue 16, for comparisons. */
export const LEGACY_ALPHA: AlphaSpec = AlphaSpec.parse({ decisive: false, edgeAware: false, bandColours: false, colourLine: false, secondPass: false, secondLookBelow: 0 });
