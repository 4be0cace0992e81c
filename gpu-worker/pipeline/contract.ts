import type { OutputKind } from '../../schemas/common.js';
import type { BatchingState } from '../model/batching.js';
import type { Quality } from './alpha/quality.js';

/**
 * The seam between the worker service (messaging, storage, status) and the image pipeline
 * (decode -> preprocess -> infer -> postprocess -> refine -> encode). The service only
 * sees this interface; the pipeline never sees Pub/Sub or Cloud Storage.
 */
export interface ProcessRequest {
  jobId: string;
  /** The original image bytes as uploaded. */
  bytes: Buffer;
  outputs: readonly OutputKind[];
  /**
   * Called once with the preview as soon as it is rendered, right after the alpha is decided
   * and before the full-size outputs are encoded, when `outputs` asks for one: the worker
   * writes it and shows it in the status while the rest is encoded. A notification only:
   * the pipeline does not wait for it, and the preview is in the result's `outputs` too.
   */
  onPreview?: (preview: RenderedOutput) => void;
}

export interface RenderedOutput {
  kind: OutputKind;
  data: Buffer;
  contentType: string;
  width: number;
  height: number;
}

export interface ModelDescriptor {
  /** Preset or custom model id, e.g. `isnet-general-1024`. */
  id: string;
  sha256?: string;
  /** The execution provider actually in use: `cuda`, `webgpu` or `cpu`. */
  provider: string;
  /**
   * Everything besides the weights that decides the output bytes (the rendering's version,
   * refinement on or off), e.g. `render-2+refine`. Part of the output cache's key, so a
   * change of either is never answered with outputs made the old way.
   */
  rendering?: string;
  /** Whether batches are used, as the batch-consistency check at load decided (/readyz and metrics show it). */
  batching?: BatchingState;
}

export interface ProcessResult {
  outputs: RenderedOutput[];
  /** Milliseconds per stage: decode, preprocess, queue, infer, alpha, second_look (when taken), preview (when asked for), render_queue, postprocess, edges, refine, encode. */
  timingsMs: Record<string, number>;
  /** How many images shared the inference run of this one. */
  batchSize: number;
  /**
   * The verdict on the cutout (pipeline/alpha/quality.ts): `score` 0-1 and flags such as
   * `uncertain_alpha`. A photo without a subject rejects instead (code `no_subject`).
   */
  quality?: Quality;
}

/**
 * Safe to call concurrently: concurrent `process` calls are batched into one inference
 * when the model has a dynamic batch dimension, and one job's CPU stages overlap another's
 * inference. Permanent input problems reject with a PermanentError carrying a code.
 */
export interface ImagePipeline {
  readonly model: ModelDescriptor;
  process(request: ProcessRequest): Promise<ProcessResult>;
  /** Runs one inference on a synthetic input so the first real job is not slow. */
  warmup(): Promise<void>;
  close(): Promise<void>;
}
