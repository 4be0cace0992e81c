/**
 * localcloud: the Google Cloud side of the pipeline on one machine. The official Pub/Sub
 * emulator, the project's Cloud Storage emulator and the Eventarc bridge, wired together the
 * way the production project is (topology.ts mirrors terraform), for tests and the demo.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PubSub } from '@google-cloud/pubsub';
import { Storage } from '@google-cloud/storage';
import { createLogger, type Logger } from '../../shared/logger.js';
import type { RetrySettings } from './delivery.js';
import { EventarcBridge, type DeliveryRecord } from './eventarc.js';
import { startPubsubEmulator, type PubsubEmulator } from './pubsub.js';
import { createServiceAccountKey, startStorageEmulator, type CorsRule, type StorageEmulator } from './storage/index.js';
import { watchUnroutedFinalize, type UnroutedObject } from './unrouted.js';
import { createTopology, DEFAULT_NAMES, describeTopology, type JobsPolicy, type TopologyNames } from './topology.js';

export { DEFAULT_NAMES, LOCAL_POLICY, PRODUCTION_POLICY, describeTopology, topologyNames, type TopologyNames } from './topology.js';
export { DEFAULT_RETRY, FAST_RETRY, type RetrySettings } from './delivery.js';
export type { DeliveryRecord } from './eventarc.js';
export { startFunction, type FunctionProcess } from './functions-framework.js';

export const DEFAULT_PROJECT_ID = 'petcutout-local';
export const DEFAULT_UPLOADS_BUCKET = 'petcutout-local-uploads';
export const DEFAULT_RESULTS_BUCKET = 'petcutout-local-results';
/** The demo web app's dev server (vite), by name and by address. */
export const DEFAULT_CORS_ORIGINS = ['http://localhost:5173', 'http://127.0.0.1:5173'];

export interface LocalCloudOptions {
  projectId?: string;
  /** Objects and the key file live here. Default: a fresh temp directory, removed by stop(). */
  dataDir?: string;
  uploadsBucket?: string;
  resultsBucket?: string;
  /** Origins allowed to PUT/GET the uploads bucket from a browser (signed URLs). */
  corsOrigins?: string[];
  /** Topic and subscription ids; see topologyNames() to take them from JOBS_TOPIC etc. */
  names?: Partial<TopologyNames>;
  /** Jobs subscription policy; defaults to LOCAL_POLICY (fast backoff). */
  policy?: Partial<JobsPolicy>;
  /** Bridge retries of failing functions; defaults to DEFAULT_RETRY, tests want FAST_RETRY. */
  retry?: Partial<RetrySettings>;
  /** Where object-finalized events of the uploads bucket go; also settable later with routeStorage(). */
  storageFunctionUrl?: string;
  /** Where dead-lettered jobs go (the onDeadLetter function); also settable with routeTopic(). */
  deadLetterFunctionUrl?: string;
  /**
   * Called for each object finalized while no function receives finalize events (no
   * routeStorage yet): the event waits and no job runs. `make localcloud` warns with it.
   */
  onUnroutedFinalize?: (object: UnroutedObject) => void;
  pubsubPort?: number;
  storagePort?: number;
  logger?: Logger;
}

export interface LocalCloud {
  /** Everything a process (function, worker, demo) needs to use localcloud through the official clients. */
  env: Record<string, string>;
  projectId: string;
  /** The throwaway service-account key (GOOGLE_APPLICATION_CREDENTIALS); signs V4 URLs locally. */
  keyFile: string;
  /** `http://127.0.0.1:PORT` (STORAGE_EMULATOR_HOST / Storage apiEndpoint). */
  storageUrl: string;
  /** `127.0.0.1:PORT` (PUBSUB_EMULATOR_HOST / PubSub apiEndpoint). */
  pubsubHost: string;
  /** Process group of the Pub/Sub emulator (for checks that nothing is left after stop()). */
  pubsubPid: number;
  dataDir: string;
  names: TopologyNames;
  uploadsBucket: string;
  resultsBucket: string;
  /** Send object-finalized events (uploads bucket only, unless `bucket` says otherwise) to a function. */
  routeStorage(url: string, filter?: { bucket?: string }): void;
  /** Send messagePublished events of `topic` to a function; the dead-letter topic reads its handler subscription. */
  routeTopic(topic: string, url: string, subscription?: string): Promise<void>;
  /** Final outcomes of the bridge's deliveries so far. */
  deliveries(): readonly DeliveryRecord[];
  waitForDeliveries(predicate: (records: readonly DeliveryRecord[]) => boolean, timeoutMs?: number): Promise<readonly DeliveryRecord[]>;
  /** Stops the bridge, then the storage emulator, then the Pub/Sub emulator. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Start everything; resolves once topics, subscriptions, buckets and the notification config exist.
 * @example
 * const cloud = await startLocalCloud({ retry: FAST_RETRY });
 * const fn = await startFunction({ source, target: 'onObjectFinalized', env: cloud.env });
 * cloud.routeStorage(fn.url);
 * await cloud.stop();
 */
export async function startLocalCloud(opts: LocalCloudOptions = {}): Promise<LocalCloud> {
  const projectId = opts.projectId ?? DEFAULT_PROJECT_ID;
  const names: TopologyNames = { ...DEFAULT_NAMES, ...opts.names };
  const uploadsBucket = opts.uploadsBucket ?? DEFAULT_UPLOADS_BUCKET;
  const resultsBucket = opts.resultsBucket ?? DEFAULT_RESULTS_BUCKET;
  const log = opts.logger ?? createLogger({ component: 'localcloud', level: 'warn' });
  const ownDataDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ? resolve(opts.dataDir) : mkdtempSync(join(tmpdir(), 'localcloud-'));
  mkdirSync(dataDir, { recursive: true });

  const cleanups: (() => Promise<void>)[] = [];
  const stopAll = async (): Promise<void> => {
    // Reverse order: the bridge still needs Pub/Sub while it nacks; storage publishes to Pub/Sub.
    for (const cleanup of cleanups.reverse()) {
      await cleanup().catch((err: unknown) => log.error({ event: 'localcloud.stop_failed', err }, 'stopping a localcloud part failed'));
    }
    if (ownDataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const key = createServiceAccountKey(projectId, { dir: dataDir });
    const emulator: PubsubEmulator = await startPubsubEmulator({ ...(opts.pubsubPort !== undefined && { port: opts.pubsubPort }) });
    cleanups.push(() => emulator.stop());
    log.info({ event: 'localcloud.pubsub_started', host: emulator.host, startupMs: emulator.startupMs }, 'Pub/Sub emulator started');

    const pubsub = new PubSub({ projectId, apiEndpoint: emulator.host, emulatorMode: true });
    cleanups.push(() => pubsub.close());
    await createTopology(pubsub, describeTopology(names, opts.policy));

    const cors: CorsRule[] = [
      {
        origin: opts.corsOrigins ?? DEFAULT_CORS_ORIGINS,
        method: ['GET', 'HEAD', 'PUT', 'OPTIONS'],
        responseHeader: ['Content-Type', 'x-goog-content-length-range', 'x-goog-meta-*'],
        maxAgeSeconds: 3600,
      },
    ];
    const storage: StorageEmulator = await startStorageEmulator({
      dataDir: join(dataDir, 'storage'),
      projectId,
      trustedKeys: [{ clientEmail: key.clientEmail, publicKeyPem: key.publicKeyPem }],
      buckets: [
        { name: uploadsBucket, cors },
        { name: resultsBucket, cors },
      ],
      pubsub: { apiEndpoint: emulator.host, projectId },
      log: log.child({ part: 'storage' }),
      ...(opts.storagePort !== undefined && { port: opts.storagePort }),
    });
    cleanups.push(() => storage.stop());
    await ensureFinalizeNotification(new Storage({ projectId, apiEndpoint: storage.url }), uploadsBucket, `projects/${projectId}/topics/${names.storageNotificationsTopic}`);

    const bridge = new EventarcBridge({
      pubsub,
      projectId,
      storageSubscription: names.storageSubscription,
      logger: log.child({ part: 'eventarc' }),
      ...(opts.retry && { retry: opts.retry }),
    });
    cleanups.push(() => bridge.stop());
    let storageRouted = false;
    const routeStorage = (url: string, filter: { bucket?: string } = {}): void => {
      bridge.routeStorage(url, { bucket: filter.bucket ?? uploadsBucket });
      storageRouted = true;
    };
    if (opts.onUnroutedFinalize) cleanups.push(await watchUnroutedFinalize(pubsub, names.storageNotificationsTopic, () => storageRouted, opts.onUnroutedFinalize));
    const routeTopic = (topic: string, url: string, subscription?: string): Promise<void> =>
      bridge.routeTopic(topic, url, subscription ?? (topic === names.deadLetterTopic ? names.deadLetterSubscription : `eventarc-${topic}`));
    if (opts.storageFunctionUrl) routeStorage(opts.storageFunctionUrl);
    if (opts.deadLetterFunctionUrl) await routeTopic(names.deadLetterTopic, opts.deadLetterFunctionUrl);

    let stopping: Promise<void> | undefined;
    return {
      env: localCloudEnv({ projectId, pubsubHost: emulator.host, storageUrl: storage.url, keyFile: key.keyFilename, uploadsBucket, resultsBucket, names }),
      projectId,
      keyFile: key.keyFilename,
      storageUrl: storage.url,
      pubsubHost: emulator.host,
      pubsubPid: emulator.pid,
      dataDir,
      names,
      uploadsBucket,
      resultsBucket,
      routeStorage,
      routeTopic,
      deliveries: () => bridge.deliveries(),
      waitForDeliveries: (predicate, timeoutMs) => bridge.waitForDeliveries(predicate, timeoutMs),
      stop: () => (stopping ??= stopAll()),
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

/** The environment for processes using localcloud; pure, so it can be printed and tested. */
export function localCloudEnv(p: {
  projectId: string;
  pubsubHost: string;
  storageUrl: string;
  keyFile: string;
  uploadsBucket: string;
  resultsBucket: string;
  names: TopologyNames;
}): Record<string, string> {
  return {
    GOOGLE_CLOUD_PROJECT: p.projectId,
    PUBSUB_PROJECT_ID: p.projectId,
    PUBSUB_EMULATOR_HOST: p.pubsubHost,
    STORAGE_EMULATOR_HOST: p.storageUrl,
    GOOGLE_APPLICATION_CREDENTIALS: p.keyFile,
    // The clients would otherwise probe 169.254.169.254 for a project and credentials.
    METADATA_SERVER_DETECTION: 'none',
    UPLOADS_BUCKET: p.uploadsBucket,
    RESULTS_BUCKET: p.resultsBucket,
    JOBS_TOPIC: p.names.jobsTopic,
    COMPLETIONS_TOPIC: p.names.completionsTopic,
    DEAD_LETTER_TOPIC: p.names.deadLetterTopic,
    JOBS_SUBSCRIPTION: p.names.jobsSubscription,
  };
}

/**
 * One OBJECT_FINALIZE notification config on `bucket` for `topic`, created through the official
 * client as the production bucket would be. The data directory can outlive a run (the CLI
 * keeps it), and a second config would double every event, so an existing one is reused.
 */
async function ensureFinalizeNotification(storage: Storage, bucket: string, topic: string): Promise<void> {
  const [existing] = await storage.bucket(bucket).getNotifications();
  if (existing.some((n) => String(n.metadata.topic ?? '').endsWith(`/${topic}`))) return;
  await storage.bucket(bucket).createNotification(topic, { eventTypes: ['OBJECT_FINALIZE'], payloadFormat: 'JSON_API_V1' });
}
