import type { Logger } from '../shared/logger.js';
import type { ImagePipeline } from './pipeline/contract.js';
import type { ImagePipelineOptions } from './pipeline/pipeline.js';

/**
 * What loading the real pipeline takes: plain data, so it crosses to the pipeline thread as
 * `workerData` unchanged. Mapped from the configuration by main.ts.
 */
export interface PipelineLoad {
  pipeline: ImagePipelineOptions;
  /** Options of the Storage client that fetches a gs:// model (unused for local files). */
  storage: { projectId: string; apiEndpoint?: string };
  /** The logger's settings on the thread that loads (a logger itself cannot cross). */
  log: { level: string; projectId: string };
}

/**
 * The real pipeline, on whichever thread calls it (the pipeline thread, or the main thread
 * with PIPELINE_THREAD=false). The imports are lazy: the main thread's HTTP server answers
 * before onnxruntime and sharp load, and the Storage client loads only for a gs:// model.
 */
export async function loadImagePipeline(load: Omit<PipelineLoad, 'log'>, logger: Logger): Promise<ImagePipeline> {
  const { createImagePipeline } = await import('./pipeline/pipeline.js');
  const storage = load.pipeline.model.uri?.startsWith('gs://') ? new (await import('@google-cloud/storage')).Storage(load.storage) : undefined;
  return createImagePipeline(load.pipeline, { logger, ...(storage ? { storage } : {}) });
}
