// Quality with exact ground truth: the tux-dog cut-out (exact alpha) pasted on photo
// backgrounds at several scales. Mean IoU of the ISNet default, and the edge colour error
// (alpha-weighted mean abs RGB error of the cutout against the true foreground colour on
// the edge band) without and with foreground refinement.
//   node --import tsx bench/quality.bench.ts
import { existsSync } from 'node:fs';
import sharp from 'sharp';
import { embeddedModelPath } from '../gpu-worker/model/embedded.js';
import type { LoadedModel } from '../gpu-worker/model/load.js';
import type { RgbImage } from '../gpu-worker/pipeline/decode.js';
import { inferBatch } from '../gpu-worker/pipeline/infer.js';
import { composeRgba } from '../gpu-worker/pipeline/outputs.js';
import { configureSharp, createImagePipeline } from '../gpu-worker/pipeline/pipeline.js';
import { mapToAlpha, upsampleAlpha } from '../gpu-worker/pipeline/postprocess.js';
import { resizeForModel, toChwTensor } from '../gpu-worker/pipeline/preprocess.js';
import { colourGrid } from '../gpu-worker/pipeline/refine.js';

const DIR = 'test/fixtures/photos';
const BACKGROUNDS = ['skimage-grass.png', 'skimage-coffee.png', 'sklearn-china.jpg', 'opencv-baboon.jpg'];
/**
 * Dog height as a fraction of the background's height. Pet photos have the pet as the
 * subject; at small fractions the backgrounds' own salient objects (the cup, the pagoda,
 * the mandrill's face) are segmented too, which is what a saliency model should do.
 */
const SCALES = [0.45, 0.65, 0.85];
/** Edge band: true foreground pixels within this many pixels of a partially transparent one. */
const BAND_RADIUS = 3;

interface Scene {
  image: RgbImage;
  /** True alpha and true (unpremultiplied) foreground colour, per pixel. */
  alpha: Uint8Array;
  fg: Uint8Array;
}

async function scene(background: string, scale: number): Promise<Scene> {
  const bg = await sharp(`${DIR}/${background}`).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const W = bg.info.width;
  const H = bg.info.height;
  const dog = await sharp(`${DIR}/tux-dog.png`)
    .ensureAlpha()
    .resize({ height: Math.round(H * scale) })
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
  return { image: { data, width: W, height: H }, alpha, fg };
}

/** True-foreground pixels near a partially transparent pixel (a separable box dilation). */
function edgeBand(alpha: Uint8Array, W: number, H: number): Uint8Array {
  const soft = Uint8Array.from(alpha, (a) => (a > 0 && a < 255 ? 1 : 0));
  const rows = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let d = -BAND_RADIUS; d <= BAND_RADIUS && !rows[y * W + x]; d++) if (x + d >= 0 && x + d < W && soft[y * W + x + d]) rows[y * W + x] = 1;
  const band = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) for (let d = -BAND_RADIUS; d <= BAND_RADIUS && !band[y * W + x]; d++) if (y + d >= 0 && y + d < H && rows[(y + d) * W + x]) band[y * W + x] = alpha[y * W + x]! > 0 ? 1 : 0;
  return band;
}

function iou(truth: Uint8Array, predicted: Uint8Array): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i]! >= 128;
    const p = predicted[i]! >= 128;
    if (t && p) inter++;
    if (t || p) union++;
  }
  return inter / union;
}

/** Mean abs RGB error against the true foreground over the band, weighted by the cutout's alpha (what a viewer sees). */
function edgeError(rgba: Uint8Array, s: Scene, band: Uint8Array): number {
  let sum = 0;
  let weight = 0;
  for (let i = 0; i < band.length; i++) {
    if (!band[i]) continue;
    const w = rgba[i * 4 + 3]! / 255;
    if (w === 0) continue;
    for (let c = 0; c < 3; c++) sum += w * Math.abs(rgba[i * 4 + c]! - s.fg[i * 3 + c]!);
    weight += 3 * w;
  }
  return sum / weight;
}

async function evaluate(model: LoadedModel, s: Scene) {
  const { image } = s;
  const resized = await resizeForModel(image, model.spec);
  const [map] = await inferBatch(model.session, model.spec, model.contract, [toChwTensor(resized.data, model.spec.normalize)]);
  const alpha8 = mapToAlpha(map!, model.spec.output);
  const alpha = await upsampleAlpha(alpha8, map!.width, map!.height, image.width, image.height);
  const band = edgeBand(s.alpha, image.width, image.height);
  const plain = composeRgba(image, alpha);
  // As the pipeline does it: the colour means from the model-sized copy and the model's alpha.
  const refined = composeRgba(image, alpha, await colourGrid(resized, alpha8, image.width, image.height));
  // The same refinement given the true alpha (means at full size): how good the colour estimation is on its own.
  const truePlain = composeRgba(image, s.alpha);
  const trueRefined = composeRgba(image, s.alpha, await colourGrid(image, s.alpha, image.width, image.height));
  return {
    iou: iou(s.alpha, alpha),
    plain: edgeError(plain, s, band),
    refined: edgeError(refined, s, band),
    truePlain: edgeError(truePlain, s, band),
    trueRefined: edgeError(trueRefined, s, band),
  };
}

async function main(): Promise<void> {
  configureSharp();
  const path = embeddedModelPath();
  if (!existsSync(path)) throw new Error(`the ISNet model is missing at ${path}: run \`make model\``);
  const pipeline = await createImagePipeline({
    MODEL_PRESET: 'isnet-general-1024',
    MODEL_CACHE_DIR: '.cache/models',
    EXECUTION_PROVIDER: 'cpu',
    REQUIRE_GPU: false,
    INTRA_OP_THREADS: 0,
    MAX_BATCH_SIZE: 1,
    BATCH_WAIT_MS: 0,
    REFINE_FOREGROUND: true,
    MAX_INPUT_PIXELS: 64_000_000,
    CPU_MEM_ARENA: false,
  });
  const model = pipeline.loaded;
  console.log(`quality bench: tux-dog.png (exact alpha) on ${BACKGROUNDS.length} backgrounds x ${SCALES.length} scales, ISNet ${model.sha256.slice(0, 12)} on ${model.provider}`);
  console.log(`edge error: alpha-weighted mean |RGB - true F| over true-foreground pixels within ${BAND_RADIUS} px of the soft edge (0-255 scale)\n`);
  console.log(`${'background'.padEnd(20)} height  IoU    edge err: plain  refined  | true alpha: plain  refined`);
  const rows: Awaited<ReturnType<typeof evaluate>>[] = [];
  for (const bg of BACKGROUNDS) {
    for (const scale of SCALES) {
      const r = await evaluate(model, await scene(bg, scale));
      rows.push(r);
      console.log(
        `${bg.padEnd(20)} ${scale.toFixed(2).padStart(5)}  ${r.iou.toFixed(3)}   ${r.plain.toFixed(1).padStart(13)}  ${r.refined.toFixed(1).padStart(7)}  | ${r.truePlain.toFixed(1).padStart(16)}  ${r.trueRefined.toFixed(1).padStart(7)}`,
      );
    }
  }
  const mean = (k: keyof (typeof rows)[number], of = rows) => of.reduce((s, r) => s + r[k], 0) / of.length;
  const large = rows.filter((_, i) => SCALES[i % SCALES.length]! >= 0.65);
  console.log(
    `\nmean IoU ${mean('iou').toFixed(3)} (expect >= 0.93: ${mean('iou') >= 0.93 ? 'met' : 'NOT met'}); edge colour error without refinement ${mean('plain').toFixed(1)}, with refinement ${mean('refined').toFixed(1)}; ` +
      `with the true alpha: ${mean('truePlain').toFixed(1)} -> ${mean('trueRefined').toFixed(1)}`,
  );
  console.log(`mean IoU where the dog is the subject (height >= 0.65 of the frame): ${mean('iou', large).toFixed(3)}`);
  await pipeline.close();
}

await main();
