/**
 * The worker's entry point: parse configuration once, start HTTP first (health checks answer
 * while the model loads), load and warm the model, then consume jobs. Owns the process:
 * signals and exit codes live here and nowhere else.
 *
 *   npx tsx gpu-worker/main.ts        (env: see gpu-worker/config.ts and gpu-worker/model/config.ts)
 */
import { pathToFileURL } from 'node:url';
import { isMainThread, parentPort, workerData, type MessagePort } from 'node:worker_threads';
import type { Storage } from '@google-cloud/storage';
import { loadConfigOrExit, storageOptions, type Env } from '../shared/config.js';
import { classify } from '../shared/errors.js';
import { createLogger, type Logger } from '../shared/logger.js';
import { createStatusStore, gcsDocObjects } from '../shared/status-store.js';
import { WorkerConfig } from './config.js';
import type { ImagePipeline } from './pipeline/contract.js';
import { gcsBlobStore, pubsubPublisher } from './service/gcp.js';
import { hostPipeline, PIPELINE_THREAD_ROLE, startPipelineThread } from './service/pipeline-thread.js';
import { jobsAtOnce, subscriberOptions, type SubscriptionLike } from './service/pull.js';
import { Worker } from './service/worker.js';

// Only infrastructure blips (fetching a gs:// model) are worth retrying; a bad checksum, a
// wrong graph, a missing file or an absent GPU stay that way, so the process exits and says so.
const TRANSIENT_LOAD_CODES = new Set(['unavailable', 'timeout']);

export type PipelineFactory = (cfg: WorkerConfig, log: Logger) => Promise<ImagePipeline>;

export interface MainOptions {
  exit?: (code: number) => never;
  /** Tests inject a pipeline; the default builds the real one from the model config. */
  createPipeline?: PipelineFactory;
}

export interface RunningWorker {
  worker: Worker;
  port: number;
  /** Resolves once the model is ready and consumption started (a fatal load error exits). */
  ready: Promise<void>;
  /** Resolves once the warm-up inference has run (a failed warm-up exits). */
  warm: Promise<void>;
}

export async function main(env: Env, options: MainOptions = {}): Promise<RunningWorker> {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const cfg = loadConfigOrExit(WorkerConfig, env, exit);
  const log = createLogger({ component: 'gpu-worker', level: cfg.LOG_LEVEL, projectId: cfg.GOOGLE_CLOUD_PROJECT });

  const onPipelineCrash = (err: Error): void => {
    log.fatal({ event: 'pipeline.thread_crashed', err }, 'the pipeline thread died; exiting so the platform restarts the instance');
    exit(1);
  };
  const createPipeline = options.createPipeline ?? ((c: WorkerConfig, l: Logger) => defaultPipelineFactory(c, l, onPipelineCrash));
  // The model loads first, on its own thread, while this one imports the Google clients
  // (half a second of module evaluation) and starts HTTP; retries after a failure load anew.
  let firstLoad: Promise<ImagePipeline> | undefined = createPipeline(cfg, log);
  firstLoad.catch(() => undefined); // handled by loadWithRetry, which awaits it a little later
  const loadPipeline = (): Promise<ImagePipeline> => {
    const p = firstLoad ?? createPipeline(cfg, log);
    firstLoad = undefined;
    return p;
  };

  // Imported here, not at the top: the pipeline thread runs this module too and needs neither.
  const [{ PubSub, Duration }, { Storage }] = await Promise.all([import('@google-cloud/pubsub'), import('@google-cloud/storage')]);
  // The official clients find the emulators through PUBSUB_EMULATOR_HOST / apiEndpoint.
  const storage = new Storage(storageOptions(cfg));
  const pubsub = new PubSub({ projectId: cfg.GOOGLE_CLOUD_PROJECT });

  const worker = new Worker(
    {
      mode: cfg.WORKER_MODE,
      port: cfg.PORT,
      resultsBucket: cfg.RESULTS_BUCKET,
      eventSource: cfg.EVENT_SOURCE,
      cacheEnabled: cfg.CACHE_ENABLED,
      shutdownGraceMs: cfg.SHUTDOWN_GRACE_MS,
      maxDeliveryAttempts: cfg.MAX_DELIVERY_ATTEMPTS,
      maxConcurrentJobs: jobsAtOnce(cfg.WORKER_CONCURRENCY, cfg.MAX_BATCH_SIZE),
      warmupBeforeReady: cfg.WARMUP_BEFORE_READY,
      hooks: { delayMs: cfg.DEBUG_JOB_DELAY_MS, ...(cfg.DEBUG_FAIL_CLIENT_REF ? { failClientRef: cfg.DEBUG_FAIL_CLIENT_REF } : {}) },
    },
    {
      store: gcsBlobStore(storage),
      statusStore: createStatusStore(gcsDocObjects(storage.bucket(cfg.RESULTS_BUCKET))),
      completions: pubsubPublisher(pubsub, cfg.COMPLETIONS_TOPIC),
      deadLetters: pubsubPublisher(pubsub, cfg.DEAD_LETTER_TOPIC),
      subscribe: () =>
        pubsub.subscription(
          cfg.JOBS_SUBSCRIPTION,
          subscriberOptions({ concurrency: cfg.WORKER_CONCURRENCY, maxBatchSize: cfg.MAX_BATCH_SIZE, maxJobSeconds: cfg.MAX_JOB_SECONDS, shutdownGraceMs: cfg.SHUTDOWN_GRACE_MS }, Duration),
        ) as unknown as SubscriptionLike,
      loadPipeline,
      isFatalLoadError: (err) => cfg.REQUIRE_GPU || !TRANSIENT_LOAD_CODES.has(classify(err).code),
    },
    log,
  );

  const stop = (signal: string): void => {
    void worker
      .stop(signal)
      .then(() => pubsub.close())
      .finally(() => exit(0));
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));

  const port = await worker.listen();
  const cannotStart = (err: unknown): never => {
    // Already logged with its reason; a message on stderr too, for whoever reads the crash.
    process.stderr.write(`gpu-worker: cannot start: ${err instanceof Error ? err.message : String(err)}\n`);
    return exit(1);
  };
  const loaded = worker.loadModel();
  const ready = loaded.then(() => worker.startConsuming(), cannotStart);
  // A load failure is `ready`'s to report; this one only reports a failed warm-up.
  const warm = loaded.then(
    (l) => l.warm.catch(cannotStart),
    () => undefined,
  );
  return { worker, port, ready, warm };
}

/**
 * The real pipeline, on its own thread unless PIPELINE_THREAD=false; imported lazily so the
 * HTTP server answers before onnxruntime and sharp load. The thread runs this very module
 * (see the end of the file), so the production bundle needs no second entry point.
 */
async function defaultPipelineFactory(cfg: WorkerConfig, log: Logger, onCrash: (err: Error) => void): Promise<ImagePipeline> {
  if (cfg.PIPELINE_THREAD) return startPipelineThread({ entry: new URL(import.meta.url), config: cfg, onCrash });
  return loadImagePipeline(cfg, log);
}

/** The pipeline, with a Storage client only when the model comes from gs://. */
async function loadImagePipeline(cfg: WorkerConfig, log: Logger): Promise<ImagePipeline> {
  const { createImagePipeline } = await import('./pipeline/pipeline.js');
  const storage = cfg.MODEL_URI?.startsWith('gs://') ? await modelStorage(cfg) : undefined;
  return createImagePipeline(cfg, { logger: log, ...(storage ? { storage } : {}) });
}

async function modelStorage(cfg: WorkerConfig): Promise<Storage> {
  const { Storage } = await import('@google-cloud/storage');
  return new Storage(storageOptions(cfg));
}

/** The pipeline thread: its own logger, the same config. */
async function runPipelineThread(cfg: WorkerConfig, port: MessagePort): Promise<void> {
  const log = createLogger({ component: 'gpu-worker', level: cfg.LOG_LEVEL, projectId: cfg.GOOGLE_CLOUD_PROJECT }).child({ thread: 'pipeline' });
  await hostPipeline(port, () => loadImagePipeline(cfg, log));
}

const threadData = workerData as { role?: unknown; config?: WorkerConfig } | null;
if (!isMainThread && threadData?.role === PIPELINE_THREAD_ROLE && threadData.config && parentPort) {
  void runPipelineThread(threadData.config, parentPort);
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.on('unhandledRejection', (err) => {
    process.stderr.write(`gpu-worker: unhandled rejection: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
  void main(process.env);
}
