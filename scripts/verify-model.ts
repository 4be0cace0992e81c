/**
 * Check an ONNX export before publishing it as the worker's model:
 *
 *   npm run verify-model -- FILE --preset inspyrenet-swinb-1024 [--spec SPEC.json] [--photos N] [--runs N]
 *
 * 1. contract: what the worker checks at startup (names, element types, ranks, sizes);
 * 2. batch: a declared dynamic batch must give the same maps batched and alone (the worker
 *    refuses to batch otherwise, model/batch-check.ts);
 * 3. maps: on sample photos the map lies in 0..1 and is not saturated (almost all 0 or all 1);
 * 4. time per image on every execution provider that loads here.
 * Prints its figures and exits 1 on any failure (2 on a usage error).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { batchMismatchMessage, BATCH_CHECK_MAX_ABS_DIFF, compareBatchedWithSingle } from '../gpu-worker/model/batch-check.js';
import { sha256File } from '../gpu-worker/model/checksum.js';
import { checkContract, type ModelContract } from '../gpu-worker/model/contract.js';
import { PRESET_IDS, PRESETS, type PresetId } from '../gpu-worker/model/presets.js';
import { AUTO_ORDER, createSession } from '../gpu-worker/model/runtime.js';
import { parseModelSpec, type ModelSpec } from '../gpu-worker/model/spec.js';
import { decodeImage } from '../gpu-worker/pipeline/decode.js';
import { inferBatch, type InferSession } from '../gpu-worker/pipeline/infer.js';
import { resizeForModel, toChwTensor } from '../gpu-worker/pipeline/preprocess.js';

const USAGE = 'usage: npm run verify-model -- FILE (--preset NAME | --spec SPEC.json) [--photos N] [--runs N] [--photo-dir DIR]';
/** Photos with one clear subject, in the order they are used (test/fixtures/photos/SOURCES.md). */
const PHOTOS = ['skimage-chelsea-cat.png', 'opencv-squirrel_cls.jpg', 'tux-dog.png', 'tux-rabbit.png', 'skimage-astronaut.png', 'tux-ferret.png'];
/**
 * A map with more than this share of its pixels below 0.05 (or above 0.95) sees no subject (or
 * nothing but subject) on a photo of a pet: a broken export, wrong normalisation or weights.
 */
const SATURATED_SHARE = 0.98;
/** A map whose every value lies within this of another carries no mask at all. */
const FLAT_RANGE = 0.05;

export class VerifyUsageError extends Error {
  override readonly name = 'VerifyUsageError';
}

export interface VerifyOptions {
  file: string;
  spec: ModelSpec;
  photos: number;
  runs: number;
  photoDir: string;
}

/** @example parseVerifyArgs(['m.onnx', '--preset', 'isnet-general-1024']).spec.id // 'isnet-general-1024' */
export function parseVerifyArgs(argv: readonly string[]): VerifyOptions {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: { preset: { type: 'string' }, spec: { type: 'string' }, photos: { type: 'string' }, runs: { type: 'string' }, 'photo-dir': { type: 'string' } },
    });
  } catch (err) {
    throw new VerifyUsageError(`${(err as Error).message}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) throw new VerifyUsageError(`expected one model file, got ${positionals.length}\n${USAGE}`);
  if ((values.preset === undefined) === (values.spec === undefined)) throw new VerifyUsageError(`give one of --preset (${PRESET_IDS.join(', ')}) or --spec\n${USAGE}`);
  if (values.preset !== undefined && !PRESET_IDS.includes(values.preset as PresetId)) throw new VerifyUsageError(`unknown preset ${values.preset}: expected one of ${PRESET_IDS.join(', ')}`);
  const count = (name: string, raw: string | undefined, fallback: number, max: number): number => {
    const n = raw === undefined ? fallback : Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new VerifyUsageError(`--${name} expects a whole number from 1 to ${max}, got ${raw}`);
    return n;
  };
  const spec = values.spec !== undefined ? parseModelSpec(readFileSync(values.spec, 'utf8'), values.spec) : PRESETS[values.preset as PresetId];
  return { file: positionals[0]!, spec, photos: count('photos', values.photos, 3, PHOTOS.length), runs: count('runs', values.runs, 3, 50), photoDir: values['photo-dir'] ?? 'test/fixtures/photos' };
}

type Print = (line: string) => void;
const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
const fmt = (x: number): string => x.toFixed(3);

/** The photos' tensors at the model's size, normalised and resized as the worker does. */
async function photoTensors(options: VerifyOptions): Promise<{ name: string; chw: Float32Array }[]> {
  const present = new Set(readdirSync(options.photoDir));
  const names = PHOTOS.filter((n) => present.has(n)).slice(0, options.photos);
  if (names.length < Math.min(2, options.photos)) throw new Error(`too few sample photos in ${options.photoDir} (found ${names.join(', ') || 'none'})`);
  return Promise.all(
    names.map(async (name) => {
      const image = await decodeImage(readFileSync(join(options.photoDir, name)), { limitInputPixels: 1e8 });
      return { name, chw: toChwTensor((await resizeForModel(image, options.spec)).data, options.spec.normalize) };
    }),
  );
}

/** Range and saturation of each photo's map; returns whether all passed. */
async function checkMaps(session: InferSession, spec: ModelSpec, contract: ModelContract, photos: { name: string; chw: Float32Array }[], print: Print): Promise<boolean> {
  let ok = true;
  let stretched = 0;
  for (const { name, chw } of photos) {
    const [map] = await inferBatch(session, spec, contract, [chw]);
    const p = spec.output.kind === 'logits' ? (v: number): number => 1 / (1 + Math.exp(-v)) : (v: number): number => v;
    let min = Infinity;
    let max = -Infinity;
    let sum = 0;
    let low = 0;
    let high = 0;
    let nan = 0;
    for (const raw of map!.data) {
      const v = p(raw);
      if (Number.isNaN(v)) {
        nan++;
        continue;
      }
      min = Math.min(min, v);
      max = Math.max(max, v);
      sum += v;
      if (v < 0.05) low++;
      if (v > 0.95) high++;
    }
    const n = map!.data.length;
    const problems: string[] = [];
    if (nan > 0) problems.push(`${nan} NaN values`);
    if (min < -1e-3 || max > 1 + 1e-3) problems.push(`values outside 0..1 (output.kind is "${spec.output.kind}": a graph that returns logits needs kind "logits")`);
    if (low / n > SATURATED_SHARE) problems.push(`saturated: ${pct(low / n)} of the map is below 0.05 (no subject found)`);
    if (high / n > SATURATED_SHARE) problems.push(`saturated: ${pct(high / n)} of the map is above 0.95 (everything is subject)`);
    if (max - min < FLAT_RANGE) problems.push(`flat: the map spans only ${fmt(max - min)}`);
    if (min < 1e-6 && max > 1 - 1e-6) stretched++;
    ok &&= problems.length === 0;
    print(`  maps      ${problems.length ? 'FAIL' : 'PASS'}  ${name.padEnd(26)} min ${fmt(min)} max ${fmt(max)} mean ${fmt(sum / n)}  <0.05 ${pct(low / n).padStart(6)}  >0.95 ${pct(high / n).padStart(6)}${problems.length ? `  ${problems.join('; ')}` : ''}`);
  }
  if (stretched === photos.length && photos.length > 1) {
    print(`  maps      NOTE  every map spans exactly 0..1: if the export includes the reference's min-max stretch, export the plain sigmoid map instead (docs/model-export.md)`);
  }
  return ok;
}

/** Median time of one run per image on each provider that loads; "not available" for the others. */
async function timeProviders(options: VerifyOptions, contract: ModelContract, batchOk: boolean, chw: Float32Array, print: Print): Promise<void> {
  const threads = availableParallelism();
  for (const provider of AUTO_ORDER) {
    let session;
    try {
      ({ session } = await createSession(options.file, { provider, requireGpu: false, intraOpThreads: 0 }));
    } catch (err) {
      print(`  time      ${provider.padEnd(7)} not available (${(err as Error).message.replace(/^no execution provider loaded \(\w+\): \w+: /, '').slice(0, 120)})`);
      continue;
    }
    try {
      const run = async (n: number): Promise<number> => {
        const t0 = performance.now();
        await inferBatch(session, options.spec, contract, Array.from({ length: n }, () => chw));
        return (performance.now() - t0) / n;
      };
      await run(1); // the first run selects kernels and allocates: not what a job pays
      const times: number[] = [];
      for (let i = 0; i < options.runs; i++) times.push(await run(1));
      const median = [...times].sort((a, b) => a - b)[Math.floor(times.length / 2)]!;
      let line = `  time      ${provider.padEnd(7)} ${Math.round(median)} ms per image (median of ${options.runs} after a warm-up${provider === 'cpu' ? `, ${threads} threads` : ''})`;
      if (contract.dynamicBatch && batchOk) line += `; batch of 2: ${Math.round(await run(2))} ms per image`;
      print(line);
    } finally {
      await session.release();
    }
  }
}

/**
 * Run every check, printing as it goes; resolves true when all passed.
 * @example await verifyModel(parseVerifyArgs(process.argv.slice(2)), console.log)
 */
export async function verifyModel(options: VerifyOptions, print: Print): Promise<boolean> {
  const { file, spec } = options;
  print(`verify-model ${file} (model ${spec.id}, resize ${spec.input.resize}, output ${spec.output.kind})`);
  print(`  file      ${statSync(file).size} bytes, sha256 ${await sha256File(file)}`);
  const { session } = await createSession(file, { provider: 'cpu', requireGpu: false, intraOpThreads: 0 });
  try {
    let contract: ModelContract;
    try {
      contract = checkContract(session, spec);
    } catch (err) {
      print(`  contract  FAIL  ${(err as Error).message}`);
      print('RESULT: FAIL');
      return false;
    }
    const io = (m: (typeof session.inputMetadata)[number] | undefined): string => (m?.isTensor ? `[${m.shape.join(',')}] ${m.type}` : '?');
    print(
      `  contract  PASS  input "${spec.input.name}" ${io(session.inputMetadata.find((m) => m.name === spec.input.name))}, output "${spec.output.name}" ${io(session.outputMetadata.find((m) => m.name === spec.output.name))}`,
    );
    const photos = await photoTensors(options);
    let batchOk = true;
    if (!contract.dynamicBatch) print('  batch     SKIP  static batch of 1: nothing to check; the worker runs one image per run');
    else {
      const inputs = photos.length >= 2 ? ([photos[0]!.chw, photos[1]!.chw] as const) : undefined;
      const r = await compareBatchedWithSingle(session, spec, contract, inputs);
      batchOk = r.consistent;
      const figures = r.error ? '' : `batched vs alone: max difference ${r.perImage.map((d) => d.toExponential(2)).join(', ')} (tolerance ${BATCH_CHECK_MAX_ABS_DIFF})`;
      print(`  batch     ${batchOk ? 'PASS' : 'FAIL'}  ${batchOk ? `${figures}: the worker may batch it` : batchMismatchMessage(spec.id, r)}`);
      if (!batchOk && figures) print(`            ${figures}`);
    }
    const mapsOk = await checkMaps(session, spec, contract, photos, print);
    await timeProviders(options, contract, batchOk, photos[0]!.chw, print);
    const ok = batchOk && mapsOk;
    print(ok ? 'RESULT: PASS' : 'RESULT: FAIL');
    return ok;
  } finally {
    await session.release();
  }
}

async function main(): Promise<void> {
  let options: VerifyOptions;
  try {
    options = parseVerifyArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exitCode = 2;
    return;
  }
  try {
    const ok = await verifyModel(options, (line) => process.stdout.write(`${line}\n`));
    process.exitCode = ok ? 0 : 1;
  } catch (err) {
    process.stderr.write(`verify-model: ${(err as Error).message}\n`);
    process.stdout.write('RESULT: FAIL\n');
    process.exitCode = 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) void main();
