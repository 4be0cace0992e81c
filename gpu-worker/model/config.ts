import { z } from 'zod';
import { fields } from '../../shared/config.js';
import { PRESET_IDS } from './presets.js';
import { PROVIDER_CHOICES } from './runtime.js';
import { DEFAULT_MODEL_CACHE_DIR } from './embedded.js';

/**
 * The model's settings, as a fragment the worker service merges into its own schema
 * (`BaseConfig.extend({ ...ServiceConfig.shape, ...ModelConfig.shape })`), parsed once
 * from the environment with shared/config.ts's `parseConfig`.
 */
export const ModelConfig = z.object({
  /** Which built-in contract the model follows. */
  MODEL_PRESET: z.enum(PRESET_IDS).default('isnet-general-1024'),
  /** A JSON file describing a custom model (gpu-worker/model/spec.ts); overrides MODEL_PRESET. */
  MODEL_SPEC: z.string().min(1).optional(),
  /** A local path or gs://bucket/object. Unset: the embedded ISNet from `make model`. */
  MODEL_URI: z.string().min(1).optional(),
  /** Expected sha256 of the model file (required with a gs:// MODEL_URI). */
  MODEL_SHA256: z
    .string()
    .regex(/^[0-9a-fA-F]{64}$/, { error: 'expected 64 hex digits' })
    .transform((s) => s.toLowerCase())
    .optional(),
  /** Downloaded models and the embedded default live here. */
  MODEL_CACHE_DIR: z.string().min(1).default(DEFAULT_MODEL_CACHE_DIR),
  EXECUTION_PROVIDER: z.enum(PROVIDER_CHOICES).default('auto'),
  /** Fail at startup when no GPU provider loads (GPU instances must never silently use CPU). */
  REQUIRE_GPU: fields.bool().default(false),
  /** onnxruntime intra-op threads; 0 = one per core. */
  INTRA_OP_THREADS: fields.int(0, 256).default(0),
  /** Images per inference run when the model has a dynamic batch (1 disables batching). */
  MAX_BATCH_SIZE: fields.int(1, 64).default(4),
  /**
   * A model whose declared dynamic batch fails the batch-consistency check (batched maps differ
   * from single ones, model/batch-check.ts) stops startup instead of running unbatched.
   */
  REQUIRE_BATCHING: fields.bool().default(false),
  /**
   * How long the first job of a batch waits for jobs already in the pipeline (still decoding)
   * to join; a job with none behind it does not wait.
   */
  BATCH_WAIT_MS: fields.int(0, 1000).default(10),
  /**
   * onnxruntime's CPU memory arena: saves a few percent of CPU inference time but keeps
   * ~1 GB more resident with ISNet (peak 2.65 GB vs 1.67 GB on a 12 MP photo), so off.
   */
  CPU_MEM_ARENA: fields.bool().default(false),
  /**
   * Jobs rendered (alpha at full size, refinement, encoding) at once, first come first served;
   * 0 = one per two cores (a render keeps about two cores busy). Inference and I/O are not
   * limited by it. Fewer at once means jobs that left inference together finish one after
   * another instead of all at the end.
   */
  RENDER_CONCURRENCY: fields.int(0, 64).default(0),
  /** Foreground colour estimation on the alpha edge (removes halos; costs ~50 ms per 12 MP). */
  REFINE_FOREGROUND: fields.bool().default(true),
  /** Decoding refuses larger images (pixel bombs); 64 MP covers every phone camera in use. */
  MAX_INPUT_PIXELS: fields.int(1, 1_000_000_000).default(64_000_000),
});
export type ModelConfig = z.infer<typeof ModelConfig>;

/** gs:// models are only used once verified, so their digest is mandatory. */
export function refineModelConfig(cfg: { MODEL_URI?: string | undefined; MODEL_SHA256?: string | undefined }, ctx: z.RefinementCtx): void {
  if (cfg.MODEL_URI?.startsWith('gs://') && !cfg.MODEL_SHA256) {
    ctx.addIssue({ code: 'custom', path: ['MODEL_SHA256'], message: 'required when MODEL_URI is a gs:// URI' });
  }
}
