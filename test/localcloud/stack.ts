/**
 * The whole pipeline on this machine, with real processes: localcloud (Pub/Sub emulator,
 * Storage emulator, Eventarc bridge), the four functions under functions-framework, and the
 * worker. Used by the end-to-end tests, the demo, the benchmarks and `make up` (scripts/up.ts).
 * Test infrastructure of the repository: product code never imports it.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { Storage } from '@google-cloud/storage';
import { freePort } from './pubsub.js';
import { DEFAULT_CORS_ORIGINS, FAST_RETRY, startFunction, startLocalCloud, type FunctionProcess, type LocalCloud } from './index.js';
import { describeTopology, type JobsPolicy } from './topology.js';
import { randomBytes } from 'node:crypto';
import { buildTinyModel, tinySpec, type TinyModelOptions } from '../support/tiny-model.js';
import { CompletionListener } from './completions.js';
import { linePrefixer } from './prefix-lines.js';
import { startWebServer, type WebServer } from './web-server.js';
import { WorkerProcess } from './worker-process.js';

export interface StackOptions {
  /** Use a tiny in-code model (fast) instead of the embedded ISNet. Default true. */
  tinyModel?: boolean | TinyModelOptions;
  /** Extra worker environment (WORKER_CONCURRENCY, DEBUG_JOB_DELAY_MS, ...). */
  workerEnv?: Record<string, string>;
  /** The worker's entry file (WorkerProcessOptions.entry): a test entry with hooks. Default the production one. */
  workerEntry?: string;
  /** Start a worker right away. Default true. */
  startWorker?: boolean;
  policy?: Partial<JobsPolicy>;
  /** Copy every process's output (functions and workers) to stderr. */
  echo?: boolean;
  logLevel?: string;
  /** localcloud's data directory (objects, key file); default a temp dir removed on stop. */
  dataDir?: string;
  /**
   * Serve this directory (the repository's `web/`) on an origin of its own (`stack.web`),
   * with `/config.json` naming the functions' URLs; that origin is added to the functions'
   * ALLOWED_ORIGINS and to both buckets' CORS.
   */
  web?: { dir: string; port?: number };
  /** More origins for the functions' ALLOWED_ORIGINS (none by default besides the page's). */
  allowedOrigins?: string[];
  /** More origins for both buckets' CORS (besides DEFAULT_CORS_ORIGINS and the page's). */
  corsOrigins?: string[];
}

export interface Functions {
  createUpload: FunctionProcess;
  getStatus: FunctionProcess;
  onObjectFinalized: FunctionProcess;
  onDeadLetter: FunctionProcess;
}

export class Stack {
  worker: WorkerProcess | undefined;
  private workers = 0;
  private readonly started: WorkerProcess[] = [];

  private constructor(
    readonly cloud: LocalCloud,
    readonly functions: Functions,
    readonly pubsub: PubSub,
    readonly storage: Storage,
    readonly completions: CompletionListener,
    readonly workerEnv: Record<string, string>,
    /** The page server when `web` was given. */
    readonly web: WebServer | undefined,
    private readonly echo: boolean,
    private readonly policy: Partial<JobsPolicy>,
    private readonly workerEntry: string | undefined,
  ) {}

  static async start(options: StackOptions = {}): Promise<Stack> {
    // This process's own clients must not probe the metadata server either.
    process.env['METADATA_SERVER_DETECTION'] ??= 'none';
    const echo = options.echo ?? false;
    const logLevel = options.logLevel ?? 'info';
    // The page's origin must be known before the buckets' CORS and the functions' allowlist are set.
    const web = options.web ? await startWebServer(options.web) : undefined;
    const pageOrigins = web?.origins ?? [];
    let cloud: LocalCloud;
    try {
      // Fast bridge retries and the local (short-backoff) subscription policy keep tests short.
      cloud = await startLocalCloud({
        retry: FAST_RETRY,
        corsOrigins: [...DEFAULT_CORS_ORIGINS, ...pageOrigins, ...(options.corsOrigins ?? [])],
        ...(options.policy && { policy: options.policy }),
        ...(options.dataDir !== undefined && { dataDir: options.dataDir }),
      });
    } catch (err) {
      await web?.stop();
      throw err;
    }
    try {
      // getStatus's port is chosen first so that createUpload's tickets carry an absolute statusUrl.
      const getStatusPort = await freePort();
      const allowedOrigins = [...pageOrigins, ...(options.allowedOrigins ?? [])];
      const fnEnv = {
        ...cloud.env,
        NODE_OPTIONS: '--import tsx',
        LOG_LEVEL: logLevel,
        // The demo and the benchmark upload many photos from one address.
        RATE_LIMIT_PER_MINUTE: '100000',
        RATE_LIMIT_BURST: '100000',
        PUBLIC_BASE_URL: `http://127.0.0.1:${getStatusPort}`,
        ...(allowedOrigins.length > 0 && { ALLOWED_ORIGINS: allowedOrigins.join(',') }),
      };
      const fn = (target: string, signatureType: 'http' | 'cloudevent', port?: number): Promise<FunctionProcess> =>
        startFunction({
          source: 'functions/index.ts',
          target,
          signatureType,
          env: fnEnv,
          readyTimeoutMs: 60_000,
          ...(port !== undefined && { port }),
          ...(echo && { onOutput: linePrefixer(target) }),
        });
      const [createUpload, getStatus, onObjectFinalized, onDeadLetter] = await Promise.all([fn('createUpload', 'http'), fn('getStatus', 'http', getStatusPort), fn('onObjectFinalized', 'cloudevent'), fn('onDeadLetter', 'cloudevent')]);
      web?.setConfig({ createUploadUrl: createUpload.url, getStatusUrl: getStatus.url });
      cloud.routeStorage(onObjectFinalized.url);
      await cloud.routeTopic(cloud.names.deadLetterTopic, onDeadLetter.url);

      const pubsub = new PubSub({ projectId: cloud.projectId, apiEndpoint: cloud.pubsubHost, emulatorMode: true });
      const storage = new Storage({ projectId: cloud.projectId, apiEndpoint: cloud.storageUrl });
      const completions = await CompletionListener.start(pubsub, cloud.names.completionsTopic);
      const workerEnv: Record<string, string> = { ...cloud.env, LOG_LEVEL: logLevel, ...(await modelEnv(options.tinyModel ?? true)), ...options.workerEnv };
      const stack = new Stack(cloud, { createUpload, getStatus, onObjectFinalized, onDeadLetter }, pubsub, storage, completions, workerEnv, web, echo, options.policy ?? {}, options.workerEntry);
      if (options.startWorker ?? true) await (await stack.startWorker()).waitReady();
      return stack;
    } catch (err) {
      await cloud.stop();
      await web?.stop();
      throw err;
    }
  }

  /**
   * Starts a worker process (another one after a kill, for instance) and makes it the
   * current one. The port is chosen here: with PORT=0 we could not reach it.
   */
  async startWorker(extraEnv: Record<string, string> = {}, options: { entry?: string } = {}): Promise<WorkerProcess> {
    const entry = options.entry ?? this.workerEntry;
    const w = WorkerProcess.start(await freePort(), { env: { ...this.workerEnv, ...extraEnv }, name: `worker-${++this.workers}`, echo: this.echo, ...(entry ? { entry } : {}) });
    this.worker = w;
    this.started.push(w);
    return w;
  }

  /** Stops every worker this stack started that is still running (between tests). */
  async stopWorkers(): Promise<void> {
    await Promise.all(this.started.map((w) => w.stop()));
  }

  /**
   * A new subscription on the jobs topic with the jobs subscription's policy (dead-letter,
   * retry), for a test to consume alone (JOBS_SUBSCRIPTION): a message never lands on a
   * stream left behind by an earlier test's killed worker.
   */
  async newJobsSubscription(policy: Partial<JobsPolicy> = {}): Promise<string> {
    const spec = describeTopology(this.cloud.names, { ...this.policy, ...policy }).subscriptions.find((s) => s.name === this.cloud.names.jobsSubscription);
    if (!spec) throw new Error('no jobs subscription in the topology');
    const name = `${spec.name}-${randomBytes(4).toString('hex')}`;
    await this.pubsub.createSubscription(spec.topic, name, {
      ackDeadlineSeconds: spec.ackDeadlineSeconds,
      ...(spec.deadLetter && { deadLetterPolicy: { deadLetterTopic: this.pubsub.topic(spec.deadLetter.topic).name, maxDeliveryAttempts: spec.deadLetter.maxDeliveryAttempts } }),
      ...(spec.retry && { retryPolicy: { minimumBackoff: { seconds: spec.retry.minBackoffSeconds }, maximumBackoff: { seconds: spec.retry.maxBackoffSeconds } } }),
    });
    return name;
  }

  async stop(): Promise<void> {
    await this.stopWorkers().catch(() => undefined);
    await this.completions.stop().catch(() => undefined);
    await Promise.allSettled(Object.values(this.functions).map((f) => f.stop()));
    await this.pubsub.close().catch(() => undefined);
    await this.cloud.stop();
    await this.web?.stop();
  }
}

/** Worker env selecting the model: a tiny one written to a temp dir, or the embedded ISNet. */
async function modelEnv(tiny: boolean | TinyModelOptions): Promise<Record<string, string>> {
  if (tiny === false) return { EXECUTION_PROVIDER: 'cpu' };
  const options: TinyModelOptions = tiny === true ? { size: 64 } : tiny;
  const dir = await mkdtemp(join(tmpdir(), 'e2e-model-'));
  const modelPath = join(dir, 'tiny.onnx');
  const specPath = join(dir, 'tiny.json');
  await writeFile(modelPath, buildTinyModel(options));
  await writeFile(specPath, JSON.stringify(tinySpec(options)));
  return { MODEL_URI: modelPath, MODEL_SPEC: specPath, EXECUTION_PROVIDER: 'cpu' };
}
