import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { BATCH_CHECK_RESULTS, type BatchingState } from '../model/batching.js';

export type JobOutcome = 'succeeded' | 'failed' | 'skipped' | 'retried' | 'invalid';

/** What the job handler reports; tests pass a recording fake. */
export interface JobMetrics {
  jobFinished(outcome: JobOutcome): void;
  stageDuration(stage: string, ms: number): void;
  cacheLookup(hit: boolean): void;
  batchSize(size: number): void;
}

// Stage times run from a few ms (cache copy) to tens of seconds (12 MP on CPU).
const STAGE_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** The worker's Prometheus metrics, in a registry of its own so tests can build many. */
export class WorkerMetrics implements JobMetrics {
  readonly registry = new Registry();
  private readonly jobs = new Counter({ name: 'petcutout_worker_jobs_total', help: 'Jobs handled, by outcome', labelNames: ['outcome'], registers: [this.registry] });
  private readonly stages = new Histogram({ name: 'petcutout_worker_stage_duration_seconds', help: 'Duration of each job stage', labelNames: ['stage'], buckets: STAGE_BUCKETS_S, registers: [this.registry] });
  private readonly cache = new Counter({ name: 'petcutout_worker_cache_lookups_total', help: 'Output cache lookups, by result', labelNames: ['result'], registers: [this.registry] });
  private readonly batches = new Histogram({ name: 'petcutout_worker_batch_size', help: 'Images sharing one inference run', buckets: [1, 2, 3, 4, 6, 8, 12, 16, 32], registers: [this.registry] });
  readonly inFlight = new Gauge({ name: 'petcutout_worker_jobs_in_flight', help: 'Jobs being handled now', registers: [this.registry] });
  private readonly modelLoad = new Gauge({ name: 'petcutout_worker_model_load_seconds', help: 'Time to load the model (fetch, verify, create the session), until /readyz', registers: [this.registry] });
  private readonly modelWarmup = new Gauge({ name: 'petcutout_worker_model_warmup_seconds', help: 'Time of the warm-up inference after loading', registers: [this.registry] });
  private readonly modelInfo = new Gauge({ name: 'petcutout_worker_model_info', help: 'The loaded model and its execution provider (value 1)', labelNames: ['model', 'provider'], registers: [this.registry] });
  private readonly maxBatch = new Gauge({ name: 'petcutout_worker_model_max_batch_size', help: 'Images per inference run the loaded model may take (1 when its batch is static, off or refused)', registers: [this.registry] });
  private readonly batchCheck = new Gauge({
    name: 'petcutout_worker_model_batch_check',
    help: 'The batch-consistency check at load: 1 on its result (passed, failed = batching refused, static_batch, batching_off), 0 on the others',
    labelNames: ['result'],
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'petcutout_worker_' });
  }

  jobFinished(outcome: JobOutcome): void {
    this.jobs.inc({ outcome });
  }
  stageDuration(stage: string, ms: number): void {
    this.stages.observe({ stage }, ms / 1000);
  }
  cacheLookup(hit: boolean): void {
    this.cache.inc({ result: hit ? 'hit' : 'miss' });
  }
  batchSize(size: number): void {
    this.batches.observe(size);
  }
  modelLoaded(seconds: number, model: string, provider: string, batching?: BatchingState): void {
    this.modelLoad.set(seconds);
    this.modelInfo.set({ model, provider }, 1);
    if (batching) {
      this.maxBatch.set(batching.maxBatchSize);
      // Every result present, so an alert on `{result="failed"} == 1` has a series to watch from the start.
      for (const result of BATCH_CHECK_RESULTS) this.batchCheck.set({ result }, result === batching.check ? 1 : 0);
    }
  }
  modelWarmed(seconds: number): void {
    this.modelWarmup.set(seconds);
  }
}
