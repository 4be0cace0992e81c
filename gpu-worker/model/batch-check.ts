import { PermanentError } from '../../shared/errors.js';
import { inferBatch, type InferSession } from '../pipeline/infer.js';
import { toChwTensor } from '../pipeline/preprocess.js';
import type { BatchingState } from './batching.js';
import type { ModelContract } from './contract.js';
import type { ModelLogger } from './runtime.js';
import type { ModelSpec } from './spec.js';
import { EVENTS } from '../log-events.js';

/**
 * The largest difference allowed between an image's map run in a batch of two and run alone,
 * on the 0..1 map. Batched and single runs may use different kernels (GEMM blocking, cuDNN
 * algorithm choice) whose float32 sums differ in the last bits: 1e-5 on the InSPyReNet export
 * on CPU, more on GPUs that sum in TF32. A batch that mixes its images is far off: 0.09-0.24
 * on the InSPyReNet export whose Swin backbone froze the batch of 1 (issue 18).
 */
export const BATCH_CHECK_MAX_ABS_DIFF = 1e-3;

export interface BatchComparison {
  /** Largest difference per image (batched vs alone) on the 0..1 map. */
  perImage: number[];
  maxAbsDiff: number;
  consistent: boolean;
  /** The batch of two did not run at all (the declared batch does not work): onnxruntime's first line. */
  error?: string;
}

/**
 * Two different, deterministic inputs at the model's size, normalised as the pipeline
 * normalises a photo: a bright disc on a dark gradient, and a noise texture. Different
 * enough that a batch that mixes them changes both maps.
 * @example const [a, b] = batchCheckInputs(spec) // two Float32Array(3 * H * W)
 */
export function batchCheckInputs(spec: Pick<ModelSpec, 'input' | 'normalize'>): [Float32Array, Float32Array] {
  const { width, height } = spec.input;
  const disc = new Uint8Array(width * height * 3);
  const noise = new Uint8Array(width * height * 3);
  const r2 = (Math.min(width, height) * 0.3) ** 2;
  // A fixed LCG: the same texture on every start, no dependency.
  let seed = 0x2545f491;
  const next = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i += 3) {
      const inside = (x - width * 0.45) ** 2 + (y - height * 0.55) ** 2 < r2;
      const shade = Math.round((40 * y) / height);
      disc[i] = inside ? 235 : 20 + shade;
      disc[i + 1] = inside ? 200 : 30 + shade;
      disc[i + 2] = inside ? 150 : 60 + shade;
      noise[i] = next();
      noise[i + 1] = next();
      noise[i + 2] = next();
    }
  }
  return [toChwTensor(disc, spec.normalize), toChwTensor(noise, spec.normalize)];
}

const sigmoid = (v: number): number => 1 / (1 + Math.exp(-v));

/**
 * Run two inputs as one batch of two, then each alone, and compare the maps (as
 * probabilities: logits go through a sigmoid first, so the tolerance means the same for both).
 * @example const { consistent, maxAbsDiff } = await compareBatchedWithSingle(session, spec, contract)
 */
export async function compareBatchedWithSingle(
  session: InferSession,
  spec: ModelSpec,
  contract: ModelContract,
  inputs: readonly [Float32Array, Float32Array] = batchCheckInputs(spec),
): Promise<BatchComparison> {
  let batched;
  try {
    batched = await inferBatch(session, spec, contract, inputs);
  } catch (err) {
    const error = (err instanceof Error ? err.message : String(err)).split('\n')[0]!.slice(0, 300);
    return { perImage: [], maxAbsDiff: Infinity, consistent: false, error };
  }
  const perImage: number[] = [];
  for (const [i, input] of inputs.entries()) {
    const [alone] = await inferBatch(session, spec, contract, [input]);
    const a = batched[i]!.data;
    const b = alone!.data;
    const p = spec.output.kind === 'logits' ? sigmoid : (v: number): number => v;
    let max = a.length === b.length ? 0 : Infinity;
    for (let j = 0; j < a.length && j < b.length; j++) {
      const d = Math.abs(p(a[j]!) - p(b[j]!));
      // NaN on one side only is a difference too.
      if (d > max || Number.isNaN(d)) max = Number.isNaN(d) ? Infinity : d;
    }
    perImage.push(max);
  }
  const maxAbsDiff = Math.max(...perImage);
  return { perImage, maxAbsDiff, consistent: maxAbsDiff <= BATCH_CHECK_MAX_ABS_DIFF };
}

/**
 * The operator's message for a batch that mixes its images: the problem, the cost, the fix.
 * @example batchMismatchMessage('inspyrenet-swinb-1024', { maxAbsDiff: 0.24 })
 */
export function batchMismatchMessage(modelId: string, comparison: Pick<BatchComparison, 'maxAbsDiff' | 'error'>): string {
  const problem = comparison.error
    ? `declares a dynamic batch but a batch of 2 does not run (${comparison.error})`
    : `declares a dynamic batch but mixes the images of a batch: a map run in a batch of 2 differs from the same image run alone ` +
      `by up to ${formatDiff(comparison.maxAbsDiff)} (tolerance ${BATCH_CHECK_MAX_ABS_DIFF}), so batched jobs would get wrong masks`;
  return (
    `model "${modelId}" ${problem}. ` +
    `Fix: export the model with the backbone's batch arithmetic traceable (docs/model-export.md: Swin's window_reverse), ` +
    `or run it with MAX_BATCH_SIZE=1`
  );
}

const formatDiff = (d: number): string => (Number.isFinite(d) ? `${d.toPrecision(3)} (${(d * 100).toFixed(1)}% of the 0..1 map)` : 'an unmeasurable amount (different sizes or NaN)');

export interface BatchingOptions {
  /** Images per run asked for (MAX_BATCH_SIZE). */
  maxBatchSize: number;
  /** REQUIRE_BATCHING: a failed check stops startup instead of turning batching off. */
  requireBatching: boolean;
  logger?: ModelLogger | undefined;
}

/**
 * Decide how many images a loaded model may take per run. A graph that declares a dynamic
 * batch is only trusted once two inputs give the same maps batched and alone: an export can
 * freeze its batch arithmetic to 1 and still accept a batch of 2, mixing the images without
 * any error. On a mismatch: one error log and batching off, or with `requireBatching` a
 * startup error (code `model_contract`).
 * @example const batching = await decideBatching(session, spec, contract, { maxBatchSize: 4, requireBatching: false, logger })
 */
export async function decideBatching(session: InferSession, spec: ModelSpec, contract: ModelContract, options: BatchingOptions): Promise<BatchingState> {
  if (!contract.dynamicBatch) return { check: 'static_batch', maxBatchSize: 1 };
  if (options.maxBatchSize <= 1) return { check: 'batching_off', maxBatchSize: 1 };
  const started = performance.now();
  const comparison = await compareBatchedWithSingle(session, spec, contract);
  const { maxAbsDiff, perImage, consistent } = comparison;
  const checkMs = Math.round(performance.now() - started);
  const fields = { model: spec.id, maxAbsDiff, perImage, tolerance: BATCH_CHECK_MAX_ABS_DIFF, checkMs, ...(comparison.error ? { error: comparison.error } : {}) };
  if (consistent) {
    options.logger?.info({ event: EVENTS.model.batch_checked, ...fields, maxBatchSize: options.maxBatchSize }, `batched and single runs of ${spec.id} agree (max difference ${maxAbsDiff.toExponential(1)}): batches of up to ${options.maxBatchSize}`);
    return { check: 'passed', maxBatchSize: options.maxBatchSize, maxAbsDiff };
  }
  // Infinity (a batch that did not run) would not survive JSON: leave the figure out then.
  const shown = Number.isFinite(maxAbsDiff) ? { maxAbsDiff } : {};
  const message = batchMismatchMessage(spec.id, comparison);
  if (options.requireBatching) throw new PermanentError('model_contract', `${message}; REQUIRE_BATCHING=true, so the worker does not start`);
  const log = options.logger?.error ?? options.logger?.warn;
  log?.call(options.logger, { event: EVENTS.model.batch_refused, ...fields, maxBatchSize: 1 }, `${message}. Batching is off for this model: one image per run (REQUIRE_BATCHING=true would stop startup instead)`);
  return { check: 'failed', maxBatchSize: 1, ...shown };
}
