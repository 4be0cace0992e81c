/**
 * The pipeline thread's entry module: service/pipeline-thread.ts starts it (main.ts names
 * it) with a `PipelineLoad` as `workerData.config`; it loads the pipeline and answers calls.
 * The production bundle carries it as its own file beside main.js (scripts/build.ts).
 * Imported anywhere else (the main thread, a test), it does nothing.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../shared/logger.js';
import { loadImagePipeline, type PipelineLoad } from './load-pipeline.js';
import { hostPipeline } from './service/pipeline-thread.js';

const config = (workerData as { config?: PipelineLoad } | null)?.config;
if (parentPort && config) {
  const log = createLogger({ component: 'gpu-worker', ...config.log }).child({ thread: 'pipeline' });
  void hostPipeline(parentPort, () => loadImagePipeline(config, log));
}
