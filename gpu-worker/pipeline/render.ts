import sharp from 'sharp';
import type { OutputKind } from '../../schemas/common.js';
import type { ModelSpec } from '../model/spec.js';
import type { RenderedOutput } from './contract.js';
import type { RgbImage } from './decode.js';
import type { SaliencyMap } from './infer.js';
import { settleAll } from '../../shared/settle-all.js';
import { composeRgba, encodeOutput, encodePreview, previewSize, type OutputSources } from './outputs.js';
import { mapToAlpha, upsampleAlpha } from './postprocess.js';
import { colourGrid, type ColourGrid } from './refine.js';
import { bandColours, refineBandColours } from './alpha/colour.js';
import { applyBandColours, colourLineAlpha, type BandColourList } from './alpha/colour-line.js';
import { edgeAwareAlpha } from './alpha/edges.js';
import type { AlphaSpec } from './alpha/options.js';
import { prepareAlpha, type PreparedAlpha } from './alpha/prepare.js';

/** The edge step's window radius per unit of enlargement (full-resolution pixels per map pixel). */
export const EDGE_RADIUS_PER_SCALE = 2;
/** The band colours' window: definite neighbours this far (full-resolution pixels per map pixel, at least the minimum). */
export const BAND_COLOUR_RADIUS_PER_SCALE = 3;
export const BAND_COLOUR_MIN_RADIUS = 3;
/**
 * The colour line's window (full-resolution pixels per map pixel, at least the minimum): wide
 * enough to hold opaque and clear pixels on both sides of the soft band, narrow enough that
 * the fur and the background colours are the local ones. Set A: 2 px 4.92, 4 px 3.93, 6 px 4.00,
 * 8 px 4.05 (edge colour error).
 */
export const COLOUR_LINE_RADIUS_PER_SCALE = 4;
export const COLOUR_LINE_MIN_RADIUS = 4;
/** The second colour pass's window (full-resolution pixels per map pixel, at least the minimum). */
export const SECOND_PASS_RADIUS_PER_SCALE = 3;
export const SECOND_PASS_MIN_RADIUS = 2;

export interface RenderRequest {
  /** The upright photo at full size. */
  image: RgbImage;
  /** The copy the model saw (its input size): refinement reads its colour means from it. */
  resized: RgbImage;
  /** This image's model output. */
  map: SaliencyMap;
  output: Pick<ModelSpec['output'], 'kind' | 'minMax'>;
  kinds: readonly OutputKind[];
  /** Foreground colour estimation on the alpha edge. */
  refine: boolean;
  /** The alpha steps (model spec's `alpha`); absent = none of them (the map as it comes, enlarged). */
  alpha?: AlphaSpec;
  /** The alpha already decided from `map` (the pipeline decides it before rendering, for the verdict). */
  prepared?: PreparedAlpha;
}

/**
 * Bump when a change makes `renderOutputs` produce different bytes for the same photo and
 * model (postprocessing, refinement, encoder settings): cached outputs of the old rendering
 * are then not reused.
 * 2: colour means computed per cell on demand (double instead of float32 rounding).
 * 3: the alpha steps of issue 16 (decisive alpha, edges at full resolution, second look).
 * 4: the preview composed at its own size (768 px long side, `renderPreview`).
 * 5: the colour line in the soft band and the second colour pass (the spec's fields change too,
 *    but the code behind the same settings changed as well).
 * 6: the colour line tries the window's halves along the outline, the second colour pass's
 *    gain (UNMIX_PRIOR), the response curve's default high end 240.
 * 7: the preview leaves the band steps out for a map smaller than it or a band over budget
 *    (`previewSteps`; no shipped preset's preview changes, a small test model's does).
 */
export const RENDERING_VERSION = 7;

/**
 * The alpha settings are part of the rendering: a model spec with other thresholds makes other
 * bytes; so is the kernel that resizes the photo for the model (`input.resize`): the same
 * weights see other pixels.
 * @example renderingId(true, DEFAULT_ALPHA, 'linear') // 'render-7+refine+alpha-1f0c…+resize-linear'
 */
export function renderingId(refine: boolean, alpha?: AlphaSpec, resize?: string): string {
  return `render-${RENDERING_VERSION}${refine ? '+refine' : ''}${alpha ? `+alpha-${fingerprint(JSON.stringify(alpha))}` : ''}${resize ? `+resize-${resize}` : ''}`;
}

/** FNV-1a, 32 bits, as 8 hex digits: enough to tell settings apart in a cache key. */
function fingerprint(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return (h >>> 0).toString(16).padStart(8, '0');
}

/**
 * The enlarged alpha's band fitted to the full-resolution photo when the spec asks for it
 * and the enlargement is large enough to matter (`edgeMinScale`: the guided filter of
 * alpha/edges.ts), then, at any size, its soft pixels moved toward the photo's colour line
 * (`colourLine`: alpha/colour-line.ts); otherwise as it is.
 * @example const { alpha, band } = alphaEdges(image, await upsampleAlpha(a8, 1024, 1024, W, H), 1024, 1024, spec.alpha)
 */
export function alphaEdges(image: RgbImage, enlarged: Buffer, mapWidth: number, mapHeight: number, spec: AlphaSpec | undefined): FittedAlpha {
  const scale = Math.max(image.width / mapWidth, image.height / mapHeight);
  const fitted = spec?.edgeAware && scale >= spec.edgeMinScale ? edgeAwareAlpha(image, enlarged, { radius: EDGE_RADIUS_PER_SCALE * scale }) : enlarged;
  if (!spec?.colourLine) return { alpha: fitted };
  // In place on a copy when `enlarged` may be the decided alpha itself (a map the photo's size).
  const alpha = fitted === enlarged ? Buffer.from(enlarged) : fitted;
  // The band colours come from the same sums (one pass over the band instead of two), so the
  // two share a window: the colour line's (set A: band colours at 4 px 3.96, at 3 px 3.97).
  const band = colourLineAlpha(image, alpha, Math.max(COLOUR_LINE_MIN_RADIUS, COLOUR_LINE_RADIUS_PER_SCALE * Math.max(1, scale)), { colours: spec.bandColours });
  return band ? { alpha, band } : { alpha };
}

/** The final alpha, and the soft band's colours when the colour line found them on the way. */
export interface FittedAlpha {
  alpha: Buffer;
  band?: BandColourList;
}

/**
 * The cutout's RGBA: colour and alpha (refined with the grid when there is one), then, when
 * the spec asks for it, the soft band's colours from their definite neighbours (alpha/colour.ts,
 * or as the colour line already found them), then the second colour pass.
 * @example const rgba = composeCutout(image, alphaEdges(image, enlarged, 1024, 1024, spec.alpha), grid, 1024, 1024, spec.alpha)
 */
export function composeCutout(image: RgbImage, fitted: FittedAlpha, grid: ColourGrid | undefined, mapWidth: number, mapHeight: number, spec: AlphaSpec | undefined): Buffer {
  const { alpha } = fitted;
  const rgba = composeRgba(image, alpha, grid);
  const scale = Math.max(1, image.width / mapWidth, image.height / mapHeight);
  if (spec?.bandColours) {
    if (fitted.band) applyBandColours(rgba, fitted.band);
    else bandColours(image, alpha, rgba, Math.max(BAND_COLOUR_MIN_RADIUS, BAND_COLOUR_RADIUS_PER_SCALE * scale));
  }
  if (spec?.secondPass) refineBandColours(image, alpha, rgba, Math.max(SECOND_PASS_MIN_RADIUS, SECOND_PASS_RADIUS_PER_SCALE * scale));
  return rgba;
}

/**
 * Whether refinement needs refine.ts's colour grid: not when the colour line gives the soft
 * band its colours (`colourLine` and `bandColours`), which overwrite the grid's wherever a
 * soft pixel has opaque neighbours; the rest keep the photo's colour for the second pass.
 * Quality bench, edge colour error with the grid -> without: set A 3.96 -> 3.95, A12 (4 of
 * 20) 7.42 -> 7.55; it saves the grid's two resizes and blurs and the per-pixel estimate.
 */
export function needsGrid(spec: AlphaSpec | undefined): boolean {
  return !(spec?.colourLine && spec.bandColours);
}

/** What the preview needs: the render request without the output list. */
export type PreviewRequest = Omit<RenderRequest, 'kinds'>;

/**
 * The preview, composed at its own size (768 px on the long side) straight from the
 * decided alpha: no full-size alpha, edge step or full-size composite is needed, so it is
 * ready tens of milliseconds after inference, before the full-size outputs are encoded.
 * Its colours come from the model-sized copy when that is at least as large as the preview
 * (one cheap resize instead of one of the whole photo), else from the photo; refinement and
 * the band steps run as in the full cutout, at the preview's scale, where `previewSteps`
 * lets them (a map at least the preview's size, a band within budget).
 * @example const preview = await renderPreview({ image, resized, map, output: spec.output, refine: true, alpha: spec.alpha, prepared })
 */
export async function renderPreview(req: PreviewRequest): Promise<RenderedOutput> {
  const { image, resized, map } = req;
  const { width, height } = previewSize(image.width, image.height);
  const source = resized.width >= width && resized.height >= height ? resized : image;
  const alpha8 = req.prepared ? req.prepared.alpha : req.alpha ? prepareAlpha(map, req.output, req.alpha, image).alpha : mapToAlpha(map, req.output);
  const [rgb, enlarged] = await Promise.all([resizeRgb(source, width, height), upsampleAlpha(alpha8, map.width, map.height, width, height)]);
  const spec = previewSteps(req.alpha, enlarged, width, height, map.width, map.height);
  const fitted = alphaEdges(rgb, enlarged, map.width, map.height, spec);
  const { alpha } = fitted;
  const small = map.width === resized.width && map.height === resized.height;
  // The means' spread follows the photo (refine.ts's 12 full-resolution pixels), scaled to the preview.
  const grid = req.refine && needsGrid(spec) ? await colourGrid(small ? resized : rgb, small ? alpha8 : alpha, width, height, { sigma: Math.max(0.5, (12 * width) / image.width) }) : undefined;
  return encodePreview(composeCutout(rgb, fitted, grid, map.width, map.height, spec), width, height);
}

/**
 * The preview's band steps (colour line, band colours, second pass) run only while its soft
 * band holds at most this many pixels: their cost follows the band (~1 µs per soft pixel at
 * the preview's scale), so this bounds them to ~50 ms. A real model's decided alpha leaves a
 * thin band (ISNet on the test photos: 0.1-11 % of the preview, at most ~14k pixels on a
 * 768 x 576 one, ~10-20 ms); a map that decides little would pay them on most of the frame.
 */
export const PREVIEW_BAND_BUDGET = 50_000;

/**
 * The alpha steps for the preview: the spec's, without the band steps (the preview's alpha is
 * then the decided alpha as enlarged, its colours refine.ts's colour grid: the rendering before
 * issue 16's band steps) when
 * - the map is smaller than the preview (`mapWidth` x `mapHeight`): the band is enlarged with
 *   it, and fitting it to the photo works in windows of several radii per map pixel (the
 *   bench's 64-px test model: 48-px windows over 281k of the preview's 400k pixels, ~300 ms on
 *   2 cores, where the preview's point is to come first). Every shipped preset's map is
 *   1024 px, larger than the preview, so this is a test model's or a future small preset's case;
 * - or the soft band is over PREVIEW_BAND_BUDGET.
 * The full-size outputs run every step either way.
 * @example const spec = previewSteps(DEFAULT_ALPHA, enlarged, 768, 520, 1024, 1024)
 */
export function previewSteps(spec: AlphaSpec | undefined, enlarged: Uint8Array, width: number, height: number, mapWidth: number, mapHeight: number): AlphaSpec | undefined {
  if (!spec || !(spec.colourLine || spec.bandColours || spec.secondPass || spec.edgeAware)) return spec;
  const without: AlphaSpec = { ...spec, edgeAware: false, colourLine: false, bandColours: false, secondPass: false };
  if (mapWidth < width || mapHeight < height) return without;
  let soft = 0;
  for (let i = 0; i < enlarged.length; i++) {
    const a = enlarged[i]!;
    if (a !== 0 && a !== 255 && ++soft > PREVIEW_BAND_BUDGET) return without;
  }
  return spec;
}

async function resizeRgb(image: RgbImage, width: number, height: number): Promise<RgbImage> {
  if (image.width === width && image.height === height) return image;
  const data = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }).resize(width, height, { fit: 'fill' }).raw().toBuffer();
  return { data, width, height };
}

/** The stages of `renderOutputs`, in order; each is marked when its work on this thread is done. */
export type RenderStage = 'postprocess' | 'edges' | 'refine' | 'encode';

/**
 * Everything after the model, arranged so this thread and the threadpool work at the same
 * time: the refinement grid (sharp) is computed while the alpha is enlarged here, the mask
 * is encoded while the cutout is composed here, and the black-and-white luma is computed
 * here while the cutout is encoded. On 12 MP the parts are each 50-300 ms, so overlapping
 * them is worth about a third of the wall time. `mark` is called as each stage ends, for
 * per-stage timings; the stages' sum is the real wall time, overlapped work included in
 * whichever stage waits for it.
 * @example const outputs = await renderOutputs({ image, resized, map, output: spec.output, kinds: ['cutout', 'mask'], refine: true })
 */
export async function renderOutputs(req: RenderRequest, mark: (stage: RenderStage) => void = () => undefined): Promise<RenderedOutput[]> {
  const { image, resized, map, kinds } = req;
  const { width, height } = image;
  const started: Promise<RenderedOutput>[] = [];
  // Every started encode is awaited below; until then a failure must not count as unhandled.
  const start = (p: Promise<RenderedOutput>): void => {
    p.catch(() => undefined);
    started.push(p);
  };
  try {
    const prepared = req.prepared ?? (req.alpha ? prepareAlpha(map, req.output, req.alpha, image) : undefined);
    const alpha8 = prepared ? prepared.alpha : mapToAlpha(map, req.output);
    const needsColour = kinds.some((k) => k === 'cutout' || k === 'bw');
    const refine = req.refine && needsColour && needsGrid(req.alpha);
    // The colour means come from the model-sized copy and the model's alpha when they line
    // up (~1 MP, on the threadpool while the alpha is enlarged here), else from full size.
    const small = map.width === resized.width && map.height === resized.height;
    const early = refine && small ? colourGrid(resized, alpha8, width, height) : undefined;
    early?.catch(() => undefined);
    const enlarged = await upsampleAlpha(alpha8, map.width, map.height, width, height);
    mark('postprocess');
    const fitted = alphaEdges(image, enlarged, map.width, map.height, req.alpha);
    const { alpha } = fitted;
    mark('edges');

    const empty: OutputSources = { rgba: Buffer.alloc(0), alpha, width, height };
    if (kinds.includes('mask')) start(encodeOutput('mask', empty));
    const grid = early ? await early : refine ? await colourGrid(image, alpha, width, height) : undefined;
    const src: OutputSources = needsColour ? { ...empty, rgba: composeCutout(image, fitted, grid, map.width, map.height, req.alpha) } : empty;
    mark('refine');

    // Native encodes first, then bw, whose luma is computed here while they run.
    for (const k of kinds) if (k !== 'mask' && k !== 'bw' && k !== 'preview') start(encodeOutput(k, src));
    // The preview is one rendering wherever it is made: at its own size (the pipeline makes it before this).
    if (kinds.includes('preview')) start(renderPreview(prepared ? { ...req, prepared } : req));
    if (kinds.includes('bw')) start(encodeOutput('bw', src));
    const done = await settleAll(started);
    mark('encode');
    // Same order as requested, whatever order the encodes ran in.
    return kinds.map((k) => done.find((o) => o.kind === k)!);
  } catch (err) {
    // No native encode may still be writing when the caller sees the failure.
    await Promise.allSettled(started);
    throw err;
  }
}
