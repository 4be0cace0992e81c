import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../shared/logger.js';
import type { StatusStore } from '../../shared/status-store.js';
import type { ImagePipeline } from '../pipeline/contract.js';
import { CompletionPublisher } from './completion-publisher.js';
import { Dispatcher } from './dispatcher.js';
import { createHttpApp } from './http.js';
import { createJobHandler, type DebugHooks } from './job-handler.js';
import { WorkerMetrics } from './metrics.js';
import { OutputCache, ResultsWriter } from './outputs.js';
import type { BlobStore, TopicPublisher } from './ports.js';
import { PullConsumer, type SubscriptionLike } from './pull.js';
import { createPushHandler } from './push.js';
import { Readiness } from './readiness.js';
import { Shutdown } from './shutdown.js';
import { loadWithRetry } from './model-loader.js';
import { EVENTS } from '../log-events.js';

export interface WorkerSettings {
  mode: 'pull' | 'push';
  port: number;
  /** Host to bind; undefined means all interfaces. */
  host?: string;
  resultsBucket: string;
  /** Jobs read their originals from here only (job-handler.ts). */
  uploadsBucket: string;
  eventSource: string;
  cacheEnabled: boolean;
  shutdownGraceMs: number;
  maxDeliveryAttempts: number;
  /** Jobs handled at once; more wait in order (default: no limit beyond the consumer's). */
  maxConcurrentJobs?: number;
  /**
   * Hold /readyz until the warm-up inference has run: always, never, or `auto` (default: on
   * GPU providers only, where the first run is the slow one).
   */
  warmupBeforeReady?: boolean | 'auto';
  hooks?: DebugHooks;
}

export interface WorkerAdapters {
  store: BlobStore;
  statusStore: StatusStore;
  completions: TopicPublisher;
  deadLetters: TopicPublisher;
  /** The jobs topic: a job whose deliveries were lost goes back on it (redelivery.ts). */
  jobs?: TopicPublisher;
  /** Opens the subscription (pull mode only), called once the model is ready. */
  subscribe?: () => SubscriptionLike;
  loadPipeline: () => Promise<ImagePipeline>;
  /** Load errors that no retry fixes (bad checksum, REQUIRE_GPU without a GPU): the process should exit. */
  isFatalLoadError: (err: unknown) => boolean;
}

/**
 * The worker service, assembled from settings and adapters: HTTP first (health checks
 * answer while the model loads), then the model, then consumption. main.ts owns the
 * process (signals, exit codes); this class owns the order of things.
 */
export class Worker {
  readonly metrics = new WorkerMetrics();
  readonly readiness = new Readiness();
  readonly dispatcher: Dispatcher;
  private pipeline: ImagePipeline | undefined;
  private server: Server | undefined;
  private consumer: PullConsumer | undefined;
  private readonly shutdown: Shutdown;
  private stopLoading = false;

  constructor(
    private readonly settings: WorkerSettings,
    private readonly adapters: WorkerAdapters,
    private readonly log: Logger,
  ) {
    const handler = createJobHandler({
      log,
      statusStore: adapters.statusStore,
      store: adapters.store,
      results: new ResultsWriter(adapters.store, settings.resultsBucket),
      ...(settings.cacheEnabled ? { cache: new OutputCache(adapters.store, settings.resultsBucket) } : {}),
      pipeline: () => this.pipeline,
      completions: new CompletionPublisher(adapters.completions, settings.eventSource),
      deadLetters: adapters.deadLetters,
      ...(adapters.jobs ? { jobs: adapters.jobs } : {}),
      metrics: this.metrics,
      maxDeliveryAttempts: settings.maxDeliveryAttempts,
      uploadsBucket: settings.uploadsBucket,
      ...(settings.hooks ? { hooks: settings.hooks } : {}),
    });
    this.dispatcher = new Dispatcher(handler, (n) => this.metrics.inFlight.set(n), settings.maxConcurrentJobs);
    this.shutdown = new Shutdown({
      log,
      readiness: this.readiness,
      dispatcher: this.dispatcher,
      graceMs: settings.shutdownGraceMs,
      stopConsuming: async () => {
        this.stopLoading = true;
        await this.consumer?.stop();
      },
      closeServer: () => this.closeServer(),
      closePipeline: async () => {
        await this.pipeline?.close();
      },
    });
  }

  /** Starts the HTTP server; resolves with the bound port. */
  async listen(): Promise<number> {
    const app = createHttpApp({
      readiness: this.readiness,
      registry: this.metrics.registry,
      warmup: async () => {
        if (!this.pipeline) throw new Error('model not loaded');
        await this.pipeline.warmup();
      },
      ...(this.settings.mode === 'push' ? { push: createPushHandler({ dispatcher: this.dispatcher, readiness: this.readiness, log: this.log }) } : {}),
    });
    const server = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(this.settings.port, this.settings.host ?? '0.0.0.0', (err?: Error) => (err ? reject(err) : resolve(s)));
    });
    this.server = server;
    const port = (server.address() as AddressInfo).port;
    this.log.info({ event: EVENTS.http.listening, port, mode: this.settings.mode }, `listening on :${port}`);
    return port;
  }

  /**
   * Loads the model, then warms it. Transient load failures keep /readyz at 503 with the
   * reason and retry; fatal ones reject (the caller exits non-zero). Resolves once ready:
   * after the warm-up inference where readiness waits for it (see `warmsBeforeReady`),
   * otherwise as soon as the model is loaded, with the warm-up still running (`warm`
   * follows it); it is the batcher's first run, so a job taken meanwhile queues behind it
   * and its download, decode and preprocessing overlap it. Under `auto` on CPU there is no
   * warm-up run at all. A warm-up failure rejects `warm` (a model that cannot run once is
   * broken: the caller exits).
   */
  async loadModel(): Promise<{ pipeline: ImagePipeline; warm: Promise<void> }> {
    const t0 = performance.now();
    const pipeline = await loadWithRetry({
      load: this.adapters.loadPipeline,
      isFatal: this.adapters.isFatalLoadError,
      readiness: this.readiness,
      log: this.log,
      stopped: () => this.stopLoading,
    });
    const loadSeconds = (performance.now() - t0) / 1000;
    this.metrics.modelLoaded(loadSeconds, pipeline.model.id, pipeline.model.provider, pipeline.model.batching);
    const setting = this.settings.warmupBeforeReady ?? 'auto';
    const hold = warmsBeforeReady(setting, pipeline.model.provider);
    // `auto` that does not hold readiness is CPU, where a warm-up run would buy nothing.
    const warm = setting === 'auto' && !hold ? this.skipWarmup() : this.warm(pipeline);
    if (hold) {
      this.readiness.warming();
      await warm;
    } else {
      // Handled by the caller; until it attaches, keep Node from calling it unhandled.
      warm.catch(() => undefined);
    }
    this.pipeline = pipeline;
    this.readiness.ready(pipeline.model, this.warmDone);
    this.log.info(
      { event: EVENTS.model.ready, model: pipeline.model.id, provider: pipeline.model.provider, loadSeconds: round3(loadSeconds), warm: this.warmDone, batching: pipeline.model.batching },
      `model ${pipeline.model.id} ready on ${pipeline.model.provider}`,
    );
    return { pipeline, warm };
  }

  private warmDone = false;

  /** CPU under `auto`: the first run is no slower than any other, so the first job is the warm-up. */
  private async skipWarmup(): Promise<void> {
    this.warmDone = true;
    this.readiness.warmed();
    this.log.info({ event: EVENTS.model.warmup_skipped }, 'no warm-up inference on CPU: the first run costs what any run costs');
  }

  private async warm(pipeline: ImagePipeline): Promise<void> {
    const t0 = performance.now();
    try {
      await pipeline.warmup();
    } catch (err) {
      this.readiness.failed(`warm-up inference failed: ${err instanceof Error ? err.message : String(err)}`);
      this.log.fatal({ event: EVENTS.model.warmup_failed, err }, 'the warm-up inference failed');
      throw err;
    }
    const seconds = (performance.now() - t0) / 1000;
    this.warmDone = true;
    this.metrics.modelWarmed(seconds);
    this.readiness.warmed();
    this.log.info({ event: EVENTS.model.warm, warmupSeconds: round3(seconds) }, 'warm-up inference done');
  }

  /** Pull mode: open the streams. Push mode needs nothing: the endpoint is live once ready. */
  startConsuming(): void {
    if (this.settings.mode !== 'pull' || this.readiness.state.phase === 'draining') return;
    if (!this.adapters.subscribe) throw new Error('pull mode needs a subscription');
    this.consumer = new PullConsumer(this.adapters.subscribe(), this.dispatcher, this.log);
    this.consumer.start();
  }

  stop(signal: string): Promise<void> {
    return this.shutdown.run(signal);
  }

  private async closeServer(): Promise<void> {
    const server = this.server;
    if (!server) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      // Keep-alive connections would hold close() open; the drain already answered every push.
      server.closeIdleConnections();
      setTimeout(() => server.closeAllConnections(), 200).unref();
    });
  }
}

const round3 = (x: number): number => Math.round(x * 1000) / 1000;

/**
 * Whether readiness waits for the warm-up. `auto`: on a GPU the first run selects kernels
 * and allocates device memory (seconds); on CPU it costs the same as the next one.
 * @example warmsBeforeReady('auto', 'cuda') // true
 */
export function warmsBeforeReady(setting: boolean | 'auto', provider: string): boolean {
  return setting === 'auto' ? provider !== 'cpu' : setting;
}
