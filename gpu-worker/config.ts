import { z } from 'zod';
import { BaseConfig, fields } from '../shared/config.js';
import { ModelConfig, refineModelConfig } from './model/config.js';
import type { ModelOptions } from './model/load.js';
import type { ImagePipelineOptions } from './pipeline/pipeline.js';

/**
 * The worker service's own settings (the model's live in gpu-worker/model). Parsed once by
 * the entry points (main.ts, cli.ts), which hand the parts below camelCase options mapped
 * from it here: no module past them reads a variable name.
 */
export const ServiceConfig = z.object({
  /** pull: streaming pull (worker pool / always-on); push: POST /pubsub/push (scale to zero). */
  WORKER_MODE: z.enum(['pull', 'push']).default('pull'),
  /** Cloud Run sets PORT; 0 picks a free port (tests). */
  PORT: fields.int(0, 65535).default(8080),
  JOBS_SUBSCRIPTION: fields.resourceId().default('jobs-worker'),
  /** Jobs held at once; the pipeline batches concurrent jobs into one inference. */
  WORKER_CONCURRENCY: fields.int(1, 256).default(4),
  /**
   * The slowest job we expect (download + inference + encode + upload of a 12 MP photo on
   * CPU is well under a minute); the lease is extended past it so a slow job is never
   * redelivered to a second worker while the first still works on it.
   */
  MAX_JOB_SECONDS: fields.int(10, 3600).default(300),
  /** Cloud Run sends SIGKILL 10 s after SIGTERM; leave 2 s for the nacks and the exit. */
  SHUTDOWN_GRACE_MS: fields.int(0, 600_000).default(8000),
  /**
   * When /readyz turns 200. true: only after the model is loaded AND one warm-up inference
   * has run, so the first job routed to a fresh instance finds a warm session (on a GPU the
   * first run selects kernels and sets up memory, seconds with CUDA). false: once loaded; the
   * warm-up runs in the background as the batcher's first run (a job arriving meanwhile
   * waits behind it). auto (default): true on GPU providers; false on CPU, where the first
   * run costs what any run costs (`make bench` measures both in one run), so holding
   * readiness for it would only delay the instance by one full inference.
   */
  WARMUP_BEFORE_READY: z.union([z.literal('auto'), fields.bool()], { error: 'expected auto, true or false' }).default('auto'),
  /**
   * Run the image pipeline on a thread of its own (service/pipeline-thread.ts): onnxruntime
   * blocks the thread it runs on for a whole inference. false keeps it on the main thread.
   */
  PIPELINE_THREAD: fields.bool().default(true),
  /** Reuse outputs of an identical earlier job (same bytes, model and outputs). */
  CACHE_ENABLED: fields.bool().default(true),
  /** Must match the subscription's dead-letter policy; only used to label the last attempt in logs. */
  MAX_DELIVERY_ATTEMPTS: fields.int(5, 100).default(5),
  /** The CloudEvent `source` of completion events published by this worker. */
  EVENT_SOURCE: z.string().min(1).default('//petcutout/gpu-worker'),
  /** Node's convention (the image and terraform set production); read by libraries, not by us. */
  NODE_ENV: z.string().optional(),
});

/** Everything the worker reads from its environment: base + service + model. */
export const WorkerConfig = BaseConfig.extend({ ...ServiceConfig.shape, ...ModelConfig.shape }).superRefine(refineModelConfig);
export type WorkerConfig = z.infer<typeof WorkerConfig>;

/** The model to load, from MODEL_* and the runtime settings. */
export function modelOptions(cfg: ModelConfig): ModelOptions {
  return {
    preset: cfg.MODEL_PRESET,
    specFile: cfg.MODEL_SPEC,
    uri: cfg.MODEL_URI,
    sha256: cfg.MODEL_SHA256,
    cacheDir: cfg.MODEL_CACHE_DIR,
    provider: cfg.EXECUTION_PROVIDER,
    requireGpu: cfg.REQUIRE_GPU,
    intraOpThreads: cfg.INTRA_OP_THREADS,
    cpuMemArena: cfg.CPU_MEM_ARENA,
    maxBatchSize: cfg.MAX_BATCH_SIZE,
    requireBatching: cfg.REQUIRE_BATCHING,
  };
}

/**
 * What `createImagePipeline` takes, from the model's settings (the worker's and the CLI's).
 * @example createImagePipeline(imagePipelineOptions(parseConfig(ModelConfig, process.env)), { logger })
 */
export function imagePipelineOptions(cfg: ModelConfig): ImagePipelineOptions {
  return {
    model: modelOptions(cfg),
    maxBatchSize: cfg.MAX_BATCH_SIZE,
    batchWaitMs: cfg.BATCH_WAIT_MS,
    refine: cfg.REFINE_FOREGROUND,
    renderConcurrency: cfg.RENDER_CONCURRENCY,
    limitInputPixels: cfg.MAX_INPUT_PIXELS,
  };
}
