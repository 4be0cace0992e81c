import { availableParallelism } from 'node:os';
import sharp from 'sharp';
import { PipelineError, RetryableError } from '../../shared/errors.js';
import { loadModel, type LoadedModel, type LoadModelDeps, type ModelOptions } from '../model/load.js';
import type { ModelLogger } from '../model/runtime.js';
import { InferenceBatcher } from './batcher.js';
import { FifoGate } from '../../shared/fifo-gate.js';
import type { ImagePipeline, ModelDescriptor, ProcessRequest, ProcessResult } from './contract.js';
import { decodeImage } from './decode.js';
import { inferBatch, type SaliencyMap } from './infer.js';
import { normalizationTables, resizeForModel, toChwTensor } from './preprocess.js';
import { renderingId, renderOutputs, renderPreview, type RenderStage } from './render.js';
import { decideAlpha } from './alpha/decide.js';
import { withProviderDefaults } from './alpha/options.js';

export interface PipelineOptions {
  /** Images per inference run; forced to 1 when the model's batch is static. */
  maxBatchSize: number;
  batchWaitMs: number;
  /** Foreground colour estimation on the alpha edge. */
  refine: boolean;
  /** Renders at once (FIFO); 0 or absent = one per two cores. */
  renderConcurrency?: number;
  limitInputPixels: number;
  logger?: ModelLogger;
}

/**
 * Everything `createImagePipeline` reads: the model to load and the pipeline's options (the
 * logger comes with the deps). Plain data, so it crosses to the pipeline thread as it is.
 */
export type ImagePipelineOptions = Omit<PipelineOptions, 'logger'> & { model: ModelOptions };

/** The pipeline plus the loaded model, for callers that want the session (benchmarks, readiness). */
export interface LoadedImagePipeline extends ImagePipeline {
  readonly loaded: LoadedModel;
}

interface InferResult {
  map: SaliencyMap;
  inferMs: number;
}

/**
 * Sharp settings for a long-running worker: no operation cache (inputs are raw buffers
 * never seen twice, and the cache would hold on to them, so RSS would creep), and one
 * libvips thread per core (sharp defaults to 1 on glibc without jemalloc, which leaves a
 * single 12 MP image on one core).
 */
export function configureSharp(threads = availableParallelism()): void {
  sharp.cache(false);
  sharp.concurrency(threads);
}

/**
 * Load the configured model (verified, contract-checked, on the configured provider) and
 * build the pipeline around it. Startup problems reject with a message naming them.
 * @example const pipeline = await createImagePipeline(imagePipelineOptions(parseConfig(ModelConfig, process.env)), { storage, logger })
 *          const { outputs } = await pipeline.process({ jobId, bytes, outputs: ['cutout', 'mask', 'bw'] })
 */
export async function createImagePipeline(options: ImagePipelineOptions, deps: LoadModelDeps = {}): Promise<LoadedImagePipeline> {
  const { model: modelOptions, ...pipelineOptions } = options;
  const model = await loadModel(modelOptions, deps);
  return pipelineForModel(model, { ...pipelineOptions, ...(deps.logger ? { logger: deps.logger } : {}) });
}

/**
 * The pipeline around an already loaded model (tests build tiny models and call this).
 * @example const p = pipelineForModel(model, { maxBatchSize: 4, batchWaitMs: 10, refine: true, limitInputPixels: 64e6 })
 */
export function pipelineForModel(model: LoadedModel, options: PipelineOptions): LoadedImagePipeline {
  configureSharp();
  const { spec, contract, session } = model;
  // A dynamic batch only as far as the batch-consistency check at load allowed (model/batch-check.ts).
  const maxBatchSize = contract.dynamicBatch ? Math.min(options.maxBatchSize, model.batching?.maxBatchSize ?? options.maxBatchSize) : 1;
  const tables = normalizationTables(spec.normalize);
  const batcher = new InferenceBatcher<Float32Array, InferResult>(
    async (inputs) => {
      const started = performance.now();
      const maps = await inferBatch(session, spec, contract, inputs);
      const inferMs = performance.now() - started;
      return maps.map((map) => ({ map, inferMs }));
    },
    { maxBatchSize, maxWaitMs: maxBatchSize > 1 ? options.batchWaitMs : 0 },
  );
  const renders = new FifoGate(options.renderConcurrency || Math.max(1, Math.floor(availableParallelism() / 2)));
  // The alpha steps with the provider's defaults (the second look is on by default only on a GPU).
  const alpha = withProviderDefaults(spec.alpha, model.provider);
  const descriptor: ModelDescriptor = { id: spec.id, sha256: model.sha256, provider: model.provider, rendering: renderingId(options.refine, alpha, spec.input.resize), ...(model.batching ? { batching: model.batching } : {}) };
  let closed = false;

  async function process(request: ProcessRequest): Promise<ProcessResult> {
    if (closed) throw new RetryableError('model_not_ready', 'the pipeline is closed');
    const timingsMs: Record<string, number> = {};
    let stage = 'decode';
    let mark = performance.now();
    const lap = (name: string, next: string): void => {
      const now = performance.now();
      timingsMs[name] = Math.round((now - mark) * 10) / 10;
      mark = now;
      stage = next;
    };
    const started = mark;
    // Announced now, so a batch about to start waits for this image while it decodes.
    const ticket = batcher.expect();
    try {
      const image = await decodeImage(request.bytes, { limitInputPixels: options.limitInputPixels });
      lap('decode', 'preprocess');
      const resized = await resizeForModel(image, spec);
      const chw = toChwTensor(resized.data, spec.normalize, tables);
      lap('preprocess', 'infer');
      const { result, batchSize, queueMs } = await ticket.submit(chw);
      timingsMs['queue'] = Math.round(queueMs * 10) / 10;
      timingsMs['infer'] = Math.round(result.inferMs * 10) / 10;
      mark = performance.now();
      stage = 'alpha';
      // The alpha at the map's size and the verdict (a second look at a small subject runs the model again).
      const { prepared, secondLookMs } = await decideAlpha(image, result.map, { ...spec, alpha }, async (crop) => (await batcher.submit(crop)).result.map);
      if (secondLookMs !== undefined) timingsMs['second_look'] = Math.round(secondLookMs * 10) / 10;
      lap('alpha', 'preview');
      const base = { image, resized, map: result.map, output: spec.output, refine: options.refine, alpha, prepared };
      // The preview first, before waiting for a render slot: a shop page shows it while the
      // full-size outputs are encoded (the worker writes it as soon as onPreview hears of it).
      const preview = request.outputs.includes('preview') ? await renderPreview(base) : undefined;
      if (preview) {
        request.onPreview?.(preview);
        lap('preview', 'render_queue');
      } else stage = 'render_queue';
      const kinds = request.outputs.filter((k) => k !== 'preview');
      const next: Record<RenderStage, string> = { postprocess: 'edges', edges: 'refine', refine: 'encode', encode: 'done' };
      const rendered = !kinds.length
        ? []
        : await renders.run(() => {
            // Waiting for a render slot is its own stage, so a job's timings add up to its wall time.
            lap('render_queue', 'postprocess');
            return renderOutputs({ ...base, kinds }, (done) => lap(done, next[done]));
          });
      // Same order as requested.
      const outputs = request.outputs.map((k) => (k === 'preview' ? preview : rendered.find((o) => o.kind === k))!);
      timingsMs['total'] = Math.round((performance.now() - started) * 10) / 10;
      return { outputs, timingsMs, batchSize, quality: prepared.quality };
    } catch (err) {
      if (err instanceof PipelineError) throw err;
      // Native failures carry the job and the stage, so a log line is enough to reproduce.
      throw new RetryableError('internal', `job ${request.jobId}: ${stage} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    } finally {
      ticket.cancel(); // a no-op once submitted; frees a waiting batch when decoding failed
    }
  }

  return {
    model: descriptor,
    loaded: model,
    process,
    async warmup() {
      await batcher.submit(new Float32Array(3 * spec.input.width * spec.input.height));
    },
    async close() {
      if (closed) return;
      closed = true;
      await batcher.close();
      await session.release();
    },
  };
}
