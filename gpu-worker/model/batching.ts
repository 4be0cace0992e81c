/*
 * The batching decision as data, apart from the check that makes it (batch-check.ts): the
 * main thread's metrics and /readyz read it without loading onnxruntime or sharp.
 */

/**
 * How the model's batching was decided at load:
 * - `passed`: the graph's batch is dynamic and honest; runs take up to the configured batch.
 * - `failed`: the batch is declared dynamic but batched outputs differ from single ones; refused (1 image per run).
 * - `static_batch`: the graph takes one image per run; nothing to check.
 * - `batching_off`: batching was not asked for (MAX_BATCH_SIZE=1); nothing to check.
 */
export type BatchCheckResult = 'passed' | 'failed' | 'static_batch' | 'batching_off';
export const BATCH_CHECK_RESULTS: readonly BatchCheckResult[] = ['passed', 'failed', 'static_batch', 'batching_off'];

/** What /readyz and the metrics show about batching (plain data: it crosses from the pipeline thread). */
export interface BatchingState {
  check: BatchCheckResult;
  /** Images per inference run this model gets: the configured maximum, or 1 unless the check passed. */
  maxBatchSize: number;
  /** The largest batched-vs-alone difference found on the 0..1 map, when the check ran. */
  maxAbsDiff?: number;
}
