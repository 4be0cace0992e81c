// Quality with exact ground truth: photographic animal cut-outs (exact alpha: tux-dog and
// three more from the same Tux Paint package) pasted on photo backgrounds at several scales,
// each scored BEFORE (the map as it comes, enlarged bilinearly: the pipeline before issue 16,
// every alpha step off) and AFTER (the model spec's alpha steps, pipeline/alpha/) from the
// same inference, in the same run.
//   A  headline: 60 composites on backgrounds without a subject of their own, at the photo's size (~0.3 MP)
//   B  9 composites on whole photos with a salient object of their own (dog-only truth is ambiguous)
//   C  10 small subjects (tux-dog and tux-rabbit fitted in 0.25 of the frame): the second look on and off
//   A12 the A composites of size 0.65 built at 12 MP (background and cut-out enlarged, then pasted:
//      the alpha's edge as wide as a phone photo's, the model's map enlarged ~3.4x)
// Per composite: IoU (alpha >= 128), alpha MAE, edge colour error (alpha-weighted mean |RGB - true F|
// on the edge band, refinement on in both), interior not solid (true alpha 255 eroded by 8 px, alpha
// < 0.95) and background not clear (true alpha 0 eroded by 8 px, alpha > 0.05); the quality verdict
// (score, flags) and its Spearman rank correlation with IoU. ~15 min on 2 busy cores.
//   node --import tsx bench/quality.bench.ts [--maps=DIR] (DIR caches the model's maps between runs)
//   [--sets=A,A12] [--only=grass] [--after='{"curveHigh":240}'] [--resize=lanczos3] (tuning, see below)
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import ort from 'onnxruntime-node';
import sharp from 'sharp';
import { checkContract } from '../gpu-worker/model/contract.js';
import { embeddedModelPath } from '../gpu-worker/model/embedded.js';
import { ISNET_GENERAL_1024 } from '../gpu-worker/model/presets.js';
import type { ModelSpec } from '../gpu-worker/model/spec.js';
import { decideAlpha, NoSubjectError } from '../gpu-worker/pipeline/alpha/decide.js';
import { distanceTo } from '../gpu-worker/pipeline/alpha/distance.js';
import { AlphaSpec, LEGACY_ALPHA, SECOND_LOOK_GPU, withProviderDefaults } from '../gpu-worker/pipeline/alpha/options.js';
import type { Quality } from '../gpu-worker/pipeline/alpha/quality.js';
import type { RgbImage } from '../gpu-worker/pipeline/decode.js';
import { inferBatch, type SaliencyMap } from '../gpu-worker/pipeline/infer.js';
import { configureSharp } from '../gpu-worker/pipeline/pipeline.js';
import { mapToAlpha, upsampleAlpha } from '../gpu-worker/pipeline/postprocess.js';
import { resizeForModel, toChwTensor } from '../gpu-worker/pipeline/preprocess.js';
import { colourGrid } from '../gpu-worker/pipeline/refine.js';
import { alphaEdges, composeCutout, needsGrid } from '../gpu-worker/pipeline/render.js';

const DIR = 'test/fixtures/photos';
/** Photographic cut-outs with exact (soft) alpha, from the Debian package tuxpaint-stamps-default (see SOURCES.md). */
const SUBJECTS = ['tux-dog.png', 'tux-rabbit.png', 'tux-ferret.png', 'tux-dingo.png'];
/** A region of a fixture, in the source image's pixels. */
interface Crop {
  left: number;
  top: number;
  width: number;
  height: number;
}
interface Background {
  name: string;
  file: string;
  /** Cropped regions are upscaled (lanczos3) to CROP_SHORT_SIDE on the short side; whole frames are used as they are. */
  crop?: Crop;
}
/**
 * Headline set: backgrounds without a subject of their own, so "the pasted animal only" is the
 * right answer. Crops chosen by eye to hold no object a salient-object model should pick out.
 */
const PLAIN_BACKGROUNDS: Background[] = [
  // Grass texture, the whole 512x512 frame.
  { name: 'grass', file: 'skimage-grass.png' },
  // Wooden table top, upper right of the frame, clear of the cup, the spoon and the saucer.
  { name: 'coffee:table', file: 'skimage-coffee.png', crop: { left: 440, top: 0, width: 160, height: 120 } },
  // Hazy sky, the lake with a distant island and boats, treetops at the bottom: between the pagoda and the big tree on the right.
  { name: 'china:lake', file: 'sklearn-china.jpg', crop: { left: 385, top: 150, width: 160, height: 213 } },
  // Long green leaves over dark undergrowth, bottom right, below and right of the raccoon's paw.
  { name: 'raccoon:leaves', file: 'scipy-face-raccoon.jpg', crop: { left: 780, top: 585, width: 244, height: 183 } },
  // Out-of-focus green foliage (bokeh), left of the squirrel's tail.
  { name: 'squirrel:bokeh', file: 'opencv-squirrel_cls.jpg', crop: { left: 0, top: 150, width: 120, height: 160 } },
];
/**
 * Second set, kept so nothing is hidden: whole photos with a salient object of their own (the cup,
 * the pagoda, the mandrill's face). A salient-object model is right to segment it together with the
 * dog, so dog-only truth is ambiguous here, most of all when the dog is small.
 */
const SALIENT_BACKGROUNDS: Background[] = [
  { name: 'coffee', file: 'skimage-coffee.png' },
  { name: 'china', file: 'sklearn-china.jpg' },
  { name: 'baboon', file: 'opencv-baboon.jpg' },
];
/** The subject is scaled to fit inside this fraction of the frame (for tux-dog on the frames here: its height). */
const SCALES = [0.45, 0.65, 0.85];
/** Set C: two of the cut-outs (each composite costs up to two inferences). */
const SMALL_SUBJECTS = ['tux-dog.png', 'tux-rabbit.png'];
/** Set C's subjects fit inside this fraction of the frame (a few percent of its area). */
const SMALL_SCALE = 0.25;
/** Set A12: the scale built at 12 MP. */
const SCALE_12MP = 0.65;
const PIXELS_12MP = 12e6;
/** Short side, in pixels, that a cropped background is upscaled to. */
const CROP_SHORT_SIDE = 512;
/** Edge band: true foreground pixels within this many pixels of a partially transparent one. */
const BAND_RADIUS = 3;
/** The true interior and background are the truth eroded by this many pixels. */
const ERODE = 8;
/** The second look's threshold for set C's "on" column (subject area below this share of the frame): the GPU default. */
const SECOND_LOOK_BELOW = SECOND_LOOK_GPU;

const arg = (name: string): string | undefined => process.argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
const MAPS = arg('maps');
/** `--only=grass` runs only the composites whose name contains it (for tuning). */
const ONLY = arg('only');
const SKIPPED = { iou: 0, mae: 0, edge: 0, interior: 0, background: 0, trueEdge: 0 };
/** `--sets=A,A12` runs only those sets; `--after='{"curveHigh":240}'` overrides AFTER's settings (for tuning). */
const SETS = (arg('sets') ?? 'A,B,C,A12').split(',');
/**
 * `--resize=lanczos3` pins the model input's resize kernel (to compare with maps cached before
 * the preset's kernel changed); absent = the preset's own.
 */
const RESIZE = arg('resize');
const SPEC: ModelSpec = RESIZE ? ({ ...ISNET_GENERAL_1024, input: { ...ISNET_GENERAL_1024.input, resize: RESIZE } } as ModelSpec) : ISNET_GENERAL_1024;
/** As the pipeline runs on CPU: the second look off unless `--after` turns it on. */
const AFTER: AlphaSpec = withProviderDefaults(AlphaSpec.parse({ ...SPEC.alpha, ...(JSON.parse(arg('after') ?? '{}') as object) }), 'cpu');
/** Milliseconds of every second look taken (crop, preprocessing, inference). */
const lookMs: number[] = [];
const LOOK: AlphaSpec = AlphaSpec.parse({ ...AFTER, secondLookBelow: SECOND_LOOK_BELOW });

interface Scene {
  name: string;
  image: RgbImage;
  /** True alpha and true (unpremultiplied) foreground colour, per pixel. */
  alpha: Uint8Array;
  fg: Uint8Array;
}

async function loadBackground(b: Background, pixels?: number): Promise<RgbImage> {
  let img = sharp(`${DIR}/${b.file}`).removeAlpha();
  let width = 0;
  let height = 0;
  if (b.crop) {
    const k = CROP_SHORT_SIDE / Math.min(b.crop.width, b.crop.height);
    width = Math.round(b.crop.width * k);
    height = Math.round(b.crop.height * k);
    // extract() before resize() in sharp's pipeline: the crop is in source pixels.
    img = img.extract(b.crop);
  } else {
    const m = await sharp(`${DIR}/${b.file}`).metadata();
    width = m.width;
    height = m.height;
  }
  if (pixels) {
    const k = Math.sqrt(pixels / (width * height));
    width = Math.round(width * k);
    height = Math.round(height * k);
  }
  if (b.crop || pixels) img = img.resize({ width, height, fit: 'fill', kernel: 'lanczos3' });
  const { data, info } = await img.toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height };
}

async function scene(name: string, bg: RgbImage, subject: string, scale: number): Promise<Scene> {
  const W = bg.width;
  const H = bg.height;
  const dog = await sharp(`${DIR}/${subject}`)
    .ensureAlpha()
    .resize({ width: Math.round(W * scale), height: Math.round(H * scale), fit: 'inside' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const left = Math.floor((W - dog.info.width) / 2);
  const top = Math.floor((H - dog.info.height) / 2);
  const data = Buffer.from(bg.data);
  const alpha = new Uint8Array(W * H);
  const fg = new Uint8Array(W * H * 3);
  for (let y = 0; y < dog.info.height; y++) {
    for (let x = 0; x < dog.info.width; x++) {
      const s = (y * dog.info.width + x) * 4;
      const i = (top + y) * W + left + x;
      const a = dog.data[s + 3]!;
      alpha[i] = a;
      for (let c = 0; c < 3; c++) {
        fg[i * 3 + c] = dog.data[s + c]!;
        // I = a F + (1 - a) B, exactly what a camera would see of a semi-transparent edge.
        data[i * 3 + c] = Math.round((a * dog.data[s + c]! + (255 - a) * bg.data[i * 3 + c]!) / 255);
      }
    }
  }
  return { name, image: { data, width: W, height: H }, alpha, fg };
}

/** The truth's regions: edge band (true foreground near a soft pixel), eroded interior, eroded background. */
interface Regions {
  band: Uint8Array;
  interior: Uint8Array;
  background: Uint8Array;
}

function regions(alpha: Uint8Array, W: number, H: number): Regions {
  const soft = Uint8Array.from(alpha, (a) => (a > 0 && a < 255 ? 1 : 0));
  const nearSoft = distanceTo(soft, W, H, 1, BAND_RADIUS + 1);
  const solid = Uint8Array.from(alpha, (a) => (a === 255 ? 1 : 0));
  const clear = Uint8Array.from(alpha, (a) => (a === 0 ? 1 : 0));
  const fromNotSolid = distanceTo(solid, W, H, 0, ERODE + 1);
  const fromNotClear = distanceTo(clear, W, H, 0, ERODE + 1);
  const n = W * H;
  const band = new Uint8Array(n);
  const interior = new Uint8Array(n);
  const background = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    band[i] = nearSoft[i]! <= BAND_RADIUS && alpha[i]! > 0 ? 1 : 0;
    interior[i] = fromNotSolid[i]! > ERODE ? 1 : 0;
    background[i] = fromNotClear[i]! > ERODE ? 1 : 0;
  }
  return { band, interior, background };
}

interface Metrics {
  iou: number;
  mae: number;
  edge: number;
  interior: number;
  background: number;
}

function metrics(s: Scene, r: Regions, alpha: Uint8Array, rgba: Uint8Array): Metrics {
  let inter = 0, union = 0, abs = 0, sum = 0, weight = 0, inN = 0, inBad = 0, bgN = 0, bgBad = 0;
  for (let i = 0; i < alpha.length; i++) {
    const t = s.alpha[i]!;
    const p = alpha[i]!;
    if (t >= 128 && p >= 128) inter++;
    if (t >= 128 || p >= 128) union++;
    abs += Math.abs(t - p);
    if (r.interior[i]) {
      inN++;
      if (p < 0.95 * 255) inBad++;
    }
    if (r.background[i]) {
      bgN++;
      if (p > 0.05 * 255) bgBad++;
    }
    if (r.band[i]) {
      const w = rgba[i * 4 + 3]! / 255;
      if (w === 0) continue;
      for (let c = 0; c < 3; c++) sum += w * Math.abs(rgba[i * 4 + c]! - s.fg[i * 3 + c]!);
      weight += 3 * w;
    }
  }
  return { iou: inter / union, mae: abs / 255 / alpha.length, edge: weight ? sum / weight : 0, interior: inN ? inBad / inN : 0, background: bgN ? bgBad / bgN : 0 };
}

interface Model {
  session: ort.InferenceSession;
  contract: ReturnType<typeof checkContract>;
}

async function inferChw(model: Model, chw: Float32Array): Promise<SaliencyMap> {
  const [map] = await inferBatch(model.session, SPEC, model.contract, [chw]);
  return { data: Float32Array.from(map!.data), width: map!.width, height: map!.height };
}

/** A model output, from the cache when `--maps` names one (keyed by the input's bytes). */
async function cached(input: Buffer, compute: () => Promise<SaliencyMap>): Promise<SaliencyMap> {
  const key = createHash('sha256').update(input).digest('hex').slice(0, 24);
  const file = MAPS ? `${MAPS}/${key}.f32` : undefined;
  if (file && existsSync(file)) {
    const b = readFileSync(file);
    return { data: new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4), width: SPEC.input.width, height: SPEC.input.height };
  }
  const map = await compute();
  if (file) writeFileSync(file, Buffer.from(map.data.buffer, map.data.byteOffset, map.data.byteLength));
  return map;
}

/** The model's map of a scene (the cache's key: the resized image's bytes). */
const cachedMap = (model: Model, resized: RgbImage): Promise<SaliencyMap> => cached(resized.data, () => inferChw(model, toChwTensor(resized.data, SPEC.normalize)));

interface Outcome extends Metrics {
  /** The edge error with the true alpha and the same colour steps. */
  trueEdge?: number;
  quality?: Quality;
  noSubject?: boolean;
  secondLook?: boolean;
  secondLookMs?: number;
}

/** One scene through one alpha setting, as the pipeline renders it (refinement on). */
async function render(model: Model, s: Scene, r: Regions, resized: RgbImage, map: SaliencyMap, spec: AlphaSpec): Promise<Outcome> {
  const { image } = s;
  let alpha8: Uint8Array;
  let quality: Quality | undefined;
  let secondLook = false;
  if (spec === LEGACY_ALPHA) alpha8 = mapToAlpha(map, SPEC.output);
  else {
    try {
      const decided = await decideAlpha(image, map, { ...SPEC, alpha: spec }, (chw) => cached(Buffer.from(chw.buffer, chw.byteOffset, chw.byteLength), () => inferChw(model, chw)));
      alpha8 = decided.prepared.alpha;
      quality = decided.prepared.quality;
      secondLook = decided.crop !== undefined;
      if (decided.secondLookMs !== undefined) lookMs.push(decided.secondLookMs);
    } catch (err) {
      if (!(err instanceof NoSubjectError)) throw err;
      const alpha = new Uint8Array(image.width * image.height);
      return { ...metrics(s, r, alpha, new Uint8Array(alpha.length * 4)), noSubject: true };
    }
  }
  const enlarged = await upsampleAlpha(alpha8, map.width, map.height, image.width, image.height);
  const fitted = alphaEdges(image, enlarged, map.width, map.height, spec === LEGACY_ALPHA ? undefined : spec);
  const { alpha } = fitted;
  const steps = spec === LEGACY_ALPHA ? undefined : spec;
  // As renderOutputs: no grid where the colour line gives the band its colours.
  const rgba = composeCutout(image, fitted, needsGrid(steps) ? await colourGrid(resized, alpha8, image.width, image.height) : undefined, map.width, map.height, steps);
  // The same colour steps given the true alpha: how much of the edge error is the alpha's.
  const trueRgba = composeCutout(image, { alpha: Buffer.from(s.alpha) }, await colourGrid(image, s.alpha, image.width, image.height), map.width, map.height, spec === LEGACY_ALPHA ? undefined : spec);
  return { ...metrics(s, r, alpha, rgba), trueEdge: metrics(s, r, s.alpha, trueRgba).edge, ...(quality ? { quality } : {}), secondLook };
}

interface Row {
  set: string;
  name: string;
  before: Outcome;
  after: Outcome;
  look?: Outcome;
}

const f3 = (x: number): string => x.toFixed(3);
const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
function line(r: Row): string {
  const b = r.before;
  const a = r.after;
  const q = a.noSubject ? 'no_subject' : `${a.quality!.score.toFixed(2)} ${a.quality!.flags.join(',')}`;
  const look = r.look ? `  | look${r.look.secondLook ? '' : '(not taken)'}: IoU ${f3(r.look.iou)} edge ${r.look.edge.toFixed(1)} int ${pct(r.look.interior)}` : '';
  return `${r.name.padEnd(36)} IoU ${f3(b.iou)}>${f3(a.iou)}  MAE ${f3(b.mae)}>${f3(a.mae)}  edge ${b.edge.toFixed(1).padStart(4)}>${a.edge.toFixed(1).padStart(4)} (true a ${(b.trueEdge ?? 0).toFixed(1)}>${(a.trueEdge ?? 0).toFixed(1)})  int ${pct(b.interior).padStart(5)}>${pct(a.interior).padStart(5)}  bg ${pct(b.background).padStart(5)}>${pct(a.background).padStart(5)}  score ${q}${look}`;
}

/** Spearman's rank correlation (average ranks for ties). */
function spearman(xs: number[], ys: number[]): number {
  const rank = (v: number[]): number[] => {
    const order = v.map((x, i) => [x, i] as const).sort((a, b) => a[0] - b[0]);
    const out = new Array<number>(v.length);
    for (let i = 0; i < order.length; ) {
      let j = i;
      while (j + 1 < order.length && order[j + 1]![0] === order[i]![0]) j++;
      for (let k = i; k <= j; k++) out[order[k]![1]] = (i + j) / 2;
      i = j + 1;
    }
    return out;
  };
  const rx = rank(xs);
  const ry = rank(ys);
  const n = xs.length;
  const mx = rx.reduce((a, b) => a + b, 0) / n;
  const my = ry.reduce((a, b) => a + b, 0) / n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (rx[i]! - mx) * (ry[i]! - my);
    sxx += (rx[i]! - mx) ** 2;
    syy += (ry[i]! - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

function summary(title: string, rows: Row[]): void {
  if (rows.length === 0) return;
  const mean = (pick: (r: Row) => number): number => rows.reduce((s, r) => s + pick(r), 0) / rows.length;
  const both = (k: keyof Metrics, f: (x: number) => string): string => `${f(mean((r) => r.before[k]))} -> ${f(mean((r) => r.after[k]))}`;
  const edgeGain = 1 - mean((r) => r.after.edge) / mean((r) => r.before.edge);
  const interiorRatio = mean((r) => r.after.interior) / Math.max(1e-9, mean((r) => r.before.interior));
  const scored = rows.filter((r) => r.after.quality);
  const rho = spearman(scored.map((r) => r.after.quality!.score), scored.map((r) => r.after.iou));
  console.log(
    `${title} (${rows.length}): IoU ${both('iou', f3)}, alpha MAE ${both('mae', f3)}, edge colour error ${both('edge', (x) => x.toFixed(2))} (${(edgeGain * 100).toFixed(0)}% lower; aim >= 40%), ` +
      `(with the true alpha ${mean((r) => r.before.trueEdge ?? 0).toFixed(2)} -> ${mean((r) => r.after.trueEdge ?? 0).toFixed(2)}), interior not solid ${both('interior', pct)} (x${interiorRatio.toFixed(2)}; aim <= x0.5), background not clear ${both('background', pct)}; ` +
      `score vs IoU Spearman ${rho.toFixed(2)} over ${scored.length}`,
  );
  const flagged = rows.filter((r) => r.after.noSubject || r.after.quality!.flags.length > 0);
  console.log(`   flagged ${flagged.length}/${rows.length}: ${flagged.map((r) => `${r.name} [${r.after.noSubject ? 'no_subject' : r.after.quality!.flags.join(',')}] IoU ${f3(r.after.iou)}`).join('; ') || 'none'}`);
}

async function main(): Promise<void> {
  configureSharp();
  const path = embeddedModelPath();
  if (!existsSync(path)) throw new Error(`the ISNet model is missing at ${path}: run \`make model\``);
  if (MAPS) mkdirSync(MAPS, { recursive: true });
  const session = await ort.InferenceSession.create(path, { executionProviders: ['cpu'], enableCpuMemArena: false });
  const model: Model = { session, contract: checkContract(session, SPEC) };
  console.log(
    `quality bench: ${SUBJECTS.length} cut-outs with exact alpha (${SUBJECTS.join(', ')}) pasted centred on photo backgrounds; ISNet on cpu. ` +
      `BEFORE = every alpha step off (the map enlarged as it comes), AFTER = ${JSON.stringify(AFTER)}; refinement on in both; same inference.`,
  );
  console.log(`edge: alpha-weighted mean |RGB - true F| over true-foreground pixels within ${BAND_RADIUS} px of the soft edge (0-255); int: true interior (alpha 255 eroded by ${ERODE} px) with alpha < 0.95; bg: true background (0 eroded by ${ERODE} px) with alpha > 0.05`);

  async function one(set: string, name: string, s: Scene, withLook: boolean): Promise<Row> {
    if (ONLY && !name.includes(ONLY)) return { set: 'skipped', name, before: SKIPPED, after: SKIPPED };
    const r = regions(s.alpha, s.image.width, s.image.height);
    const resized = await resizeForModel(s.image, SPEC);
    const map = await cachedMap(model, resized);
    const before = await render(model, s, r, resized, map, LEGACY_ALPHA);
    const after = await render(model, s, r, resized, map, AFTER);
    const row: Row = { set, name, before, after, ...(withLook ? { look: await render(model, s, r, resized, map, LOOK) } : {}) };
    console.log(line(row));
    return row;
  }
  const rows: Row[] = [];
  const sets: Record<string, () => Promise<void>> = {
    async A() {
      console.log(`\nA. headline: ${SUBJECTS.length * PLAIN_BACKGROUNDS.length * SCALES.length} composites on backgrounds without a subject of their own, at the photo's size`);
      for (const b of PLAIN_BACKGROUNDS) {
        const bg = await loadBackground(b);
        for (const subject of SUBJECTS) for (const scale of SCALES) rows.push(await one('A', `${b.name} ${subject.slice(4, -4)} ${scale}`, await scene(b.name, bg, subject, scale), false));
      }
    },
    async B() {
      console.log(`\nB. ${SALIENT_BACKGROUNDS.length * SCALES.length} composites on whole photos with a salient object of their own (truth ambiguous)`);
      for (const b of SALIENT_BACKGROUNDS) {
        const bg = await loadBackground(b);
        for (const scale of SCALES) rows.push(await one('B', `${b.name} dog ${scale}`, await scene(b.name, bg, 'tux-dog.png', scale), false));
      }
    },
    async C() {
      console.log(`\nC. ${SMALL_SUBJECTS.length * PLAIN_BACKGROUNDS.length} small subjects (fitted in ${SMALL_SCALE} of the frame), second look off (AFTER) and on below ${SECOND_LOOK_BELOW} of the frame (look)`);
      for (const b of PLAIN_BACKGROUNDS) {
        const bg = await loadBackground(b);
        for (const subject of SMALL_SUBJECTS) rows.push(await one('C', `${b.name} ${subject.slice(4, -4)} ${SMALL_SCALE}`, await scene(b.name, bg, subject, SMALL_SCALE), true));
      }
    },
    async A12() {
      console.log(`\nA12. the A composites of size ${SCALE_12MP} built at ${PIXELS_12MP / 1e6} MP (background and cut-out enlarged, then pasted)`);
      for (const b of PLAIN_BACKGROUNDS) {
        const bg = await loadBackground(b, PIXELS_12MP);
        for (const subject of SUBJECTS) rows.push(await one('A12', `${b.name} ${subject.slice(4, -4)} ${SCALE_12MP} 12MP`, await scene(b.name, bg, subject, SCALE_12MP), false));
      }
    },
  };
  for (const name of SETS) {
    const run = sets[name];
    if (!run) throw new Error(`unknown set ${name}: expected some of ${Object.keys(sets).join(', ')}`);
    await run();
  }

  console.log('\nBEFORE -> AFTER, means');
  summary('A  headline, photo size', rows.filter((r) => r.set === 'A'));
  summary('A12 headline, 12 MP', rows.filter((r) => r.set === 'A12'));
  summary('B  salient backgrounds', rows.filter((r) => r.set === 'B'));
  summary('C  small subjects, second look off', rows.filter((r) => r.set === 'C'));
  const small = rows.filter((r) => r.set === 'C' && r.look);
  if (small.length > 0) {
  const lm = (k: keyof Metrics, of: (r: Row) => Outcome): number => small.reduce((s, r) => s + of(r)[k], 0) / small.length;
  console.log(
    `C  second look (below ${SECOND_LOOK_BELOW} of the frame): taken on ${small.filter((r) => r.look!.secondLook).length}/${small.length}; IoU ${f3(lm('iou', (r) => r.after))} -> ${f3(lm('iou', (r) => r.look!))}, ` +
      `MAE ${f3(lm('mae', (r) => r.after))} -> ${f3(lm('mae', (r) => r.look!))}, edge ${lm('edge', (r) => r.after).toFixed(2)} -> ${lm('edge', (r) => r.look!).toFixed(2)}, ` +
      `interior not solid ${pct(lm('interior', (r) => r.after))} -> ${pct(lm('interior', (r) => r.look!))}; cost: one more inference, crop and preprocessing included ${lookMs.length ? (lookMs.reduce((a, b) => a + b, 0) / lookMs.length).toFixed(0) : '?'} ms per look on this CPU`,
  );
  }
  summary('all sets', rows.filter((r) => r.set !== 'skipped'));
  await session.release();
}

await main();
