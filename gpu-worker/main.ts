/**
 * The worker's entry point: parse configuration once, map it to each part's options, start
 * HTTP first (health checks answer while the model loads), load and warm the model, then
 * consume jobs. Owns the process: signals and exit codes live here and nowhere else.
 *
 *   npx tsx gpu-worker/main.ts        (env: see gpu-worker/config.ts and gpu-worker/model/config.ts)
 *
 * Tests that need hooks in the job handler start test/support/worker-entry.ts instead, which
 * calls `runWorker` with them: the production configuration has no such switches.
 */
import { extname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { loadConfigOrExit, storageOptions, type Env } from '../shared/config.js';
import { classify } from '../shared/errors.js';
import { createLogger, type Logger } from '../shared/logger.js';
import { createStatusStore, gcsDocObjects } from '../shared/status-store.js';
import { imagePipelineOptions, WorkerConfig } from './config.js';
import { loadImagePipeline, type PipelineLoad } from './load-pipeline.js';
import type { ImagePipeline } from './pipeline/contract.js';
import { gcsBlobStore, pubsubPublisher } from './service/gcp.js';
import type { DebugHooks } from './service/job-handler.js';
import { startPipelineThread } from './service/pipeline-thread.js';
import { jobsAtOnce, subscriberOptions, type SubscriptionLike } from './service/pull.js';
import { Worker } from './service/worker.js';
import { EVENTS } from './log-events.js';

// Only infrastructure blips (fetching a gs:// model) are worth retrying; a bad checksum, a
// wrong graph, a missing file or an absent GPU stay that way, so the process exits and says so.
const TRANSIENT_LOAD_CODES = new Set(['unavailable', 'timeout']);

// The thread's entry sits beside this module: the .ts source, or the bundle's second file.
const PIPELINE_THREAD_ENTRY = new URL(`./pipeline-thread-entry${extname(fileURLToPath(import.meta.url))}`, import.meta.url);

export type PipelineFactory = (load: PipelineLoad, log: Logger) => Promise<ImagePipeline>;

export interface RunWorkerOptions {
  exit?: (code: number) => never;
  /** Tests inject a pipeline; the default builds the real one from the model config. */
  createPipeline?: PipelineFactory;
  /** Test hooks in the job handler (test/support/worker-entry.ts); none in production. */
  hooks?: DebugHooks;
}

export interface RunningWorker {
  worker: Worker;
  port: number;
  /** Resolves once the model is ready and consumption started (a fatal load error exits). */
  ready: Promise<void>;
  /** Resolves once the warm-up inference has run (a failed warm-up exits). */
  warm: Promise<void>;
}

export async function runWorker(env: Env, options: RunWorkerOptions = {}): Promise<RunningWorker> {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  const cfg = loadConfigOrExit(WorkerConfig, env, exit);
  const log = createLogger({ component: 'gpu-worker', level: cfg.LOG_LEVEL, projectId: cfg.GOOGLE_CLOUD_PROJECT });
  const load: PipelineLoad = {
    pipeline: imagePipelineOptions(cfg),
    storage: storageOptions(cfg),
    log: { level: cfg.LOG_LEVEL, projectId: cfg.GOOGLE_CLOUD_PROJECT },
  };

  const onPipelineCrash = (err: Error): void => {
    log.fatal({ event: EVENTS.pipeline.thread_crashed, err }, 'the pipeline thread died; exiting so the platform restarts the instance');
    exit(1);
  };
  const createPipeline: PipelineFactory =
    options.createPipeline ?? ((l, logger) => (cfg.PIPELINE_THREAD ? startPipelineThread({ entry: PIPELINE_THREAD_ENTRY, config: l, onCrash: onPipelineCrash }) : loadImagePipeline(l, logger)));
  // The model loads first, on its own thread, while this one imports the Google clients
  // (half a second of module evaluation) and starts HTTP; retries after a failure load anew.
  let firstLoad: Promise<ImagePipeline> | undefined = createPipeline(load, log);
  firstLoad.catch(() => undefined); // handled by loadWithRetry, which awaits it a little later
  const loadPipeline = (): Promise<ImagePipeline> => {
    const p = firstLoad ?? createPipeline(load, log);
    firstLoad = undefined;
    return p;
  };

  // Imported here, not at the top: the model's thread is already loading while they evaluate.
  const [{ PubSub, Duration }, { Storage }] = await Promise.all([import('@google-cloud/pubsub'), import('@google-cloud/storage')]);
  // The official clients find the emulators through PUBSUB_EMULATOR_HOST / apiEndpoint.
  const storage = new Storage(storageOptions(cfg));
  const pubsub = new PubSub({ projectId: cfg.GOOGLE_CLOUD_PROJECT });

  const worker = new Worker(
    {
      mode: cfg.WORKER_MODE,
      port: cfg.PORT,
      resultsBucket: cfg.RESULTS_BUCKET,
      uploadsBucket: cfg.UPLOADS_BUCKET,
      eventSource: cfg.EVENT_SOURCE,
      cacheEnabled: cfg.CACHE_ENABLED,
      shutdownGraceMs: cfg.SHUTDOWN_GRACE_MS,
      maxDeliveryAttempts: cfg.MAX_DELIVERY_ATTEMPTS,
      maxConcurrentJobs: jobsAtOnce(cfg.WORKER_CONCURRENCY, cfg.MAX_BATCH_SIZE),
      warmupBeforeReady: cfg.WARMUP_BEFORE_READY,
      ...(options.hooks ? { hooks: options.hooks } : {}),
    },
    {
      store: gcsBlobStore(storage),
      statusStore: createStatusStore(gcsDocObjects(storage.bucket(cfg.RESULTS_BUCKET))),
      completions: pubsubPublisher(pubsub, cfg.COMPLETIONS_TOPIC),
      deadLetters: pubsubPublisher(pubsub, cfg.DEAD_LETTER_TOPIC),
      jobs: pubsubPublisher(pubsub, cfg.JOBS_TOPIC),
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
 * For an entry module (this one, or the test entry with hooks): an unhandled rejection ends
 * the process with its stack on stderr instead of leaving a half-started worker.
 */
export function runAsProcess(start: () => Promise<unknown>): void {
  process.on('unhandledRejection', (err) => {
    process.stderr.write(`gpu-worker: unhandled rejection: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  });
  void start();
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) runAsProcess(() => runWorker(process.env));
