// The HTTP shell: one node:http server, every request wrapped so that no handler failure can
// crash the process, errors rendered in the route's style (JSON or XML).
import { createPublicKey } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import type { EmulatorState, RequestContext } from './context.js';
import { readCors } from './cors.js';
import { toGcsError } from './errors.js';
import { baseUrlOf, drain, sendError, type ErrorStyle } from './http-util.js';
import { newBucketMeta } from './buckets-api.js';
import { Notifier, readNotificationConfig, type PubSubTarget } from './notifications.js';
import { UploadSessions } from './resumable.js';
import { resolveRoute } from './router.js';
import { ObjectStore } from './store.js';
import type { CorsRule, NotificationConfig } from './types.js';

// Google front ends keep idle connections for minutes; 65 s outlasts common client idle timeouts.
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

export interface TrustedKey {
  clientEmail: string;
  publicKeyPem: string;
}

export interface BucketSpec {
  name: string;
  cors?: CorsRule[];
}

export interface NotificationSpec {
  /** Topic id, `projects/P/topics/T`, or `//pubsub.googleapis.com/projects/P/topics/T`. */
  topic: string;
  payloadFormat?: 'JSON_API_V1' | 'NONE';
  eventTypes?: string[];
  objectNamePrefix?: string;
  customAttributes?: Record<string, string>;
}

export interface StorageEmulatorOptions {
  /** Interface to bind; default 127.0.0.1. */
  host?: string;
  /** Port; default 0 (a free port). */
  port?: number;
  /** Where buckets and objects live on disk (created if missing, kept after stop). */
  dataDir: string;
  /** Project for bucket inserts without `project=` and for short notification topic names. */
  projectId: string;
  /** Service accounts whose V4 signed URLs are accepted. */
  trustedKeys?: TrustedKey[];
  /** Buckets to ensure at start (an existing bucket gets the given CORS). */
  buckets?: BucketSpec[];
  /** Pub/Sub emulator for bucket notifications; without it notifications are only logged. */
  pubsub?: PubSubTarget;
  /** pino logger; default silent. */
  log?: Logger;
}

export interface StorageEmulator {
  /** `http://host:port`: use as `apiEndpoint` or STORAGE_EMULATOR_HOST. */
  url: string;
  host: string;
  port: number;
  dataDir: string;
  /** Creates a bucket, or replaces the CORS rules of an existing one. */
  ensureBucket(spec: BucketSpec): Promise<void>;
  /** Adds a notification config to a bucket; returns its id. */
  addNotification(bucket: string, spec: NotificationSpec): Promise<string>;
  trustKey(key: TrustedKey): void;
  /** Waits until every notification triggered so far has been published (or has failed). */
  flushNotifications(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts the Cloud Storage emulator (JSON API, uploads, path-style XML for V4 signed URLs).
 * @example
 * const emu = await startStorageEmulator({ dataDir, projectId: 'demo', buckets: [{ name: 'uploads' }] });
 * const storage = new Storage({ apiEndpoint: emu.url, projectId: 'demo' });
 */
export async function startStorageEmulator(options: StorageEmulatorOptions): Promise<StorageEmulator> {
  const host = options.host ?? '127.0.0.1';
  const log = options.log ?? pino({ level: 'silent' });
  await mkdir(options.dataDir, { recursive: true });
  const store = new ObjectStore(options.dataDir);
  await store.init();
  const state: EmulatorState = {
    store,
    sessions: new UploadSessions(store),
    trustedKeys: new Map(),
    projectId: options.projectId,
    log,
    url: '',
  };
  const trustKey = (key: TrustedKey): void => {
    state.trustedKeys.set(key.clientEmail, createPublicKey(key.publicKeyPem));
  };
  for (const key of options.trustedKeys ?? []) trustKey(key);

  // Idle keep-alive sockets stay open longer than a client pauses between requests: closing one
  // just as the client reuses it makes that request fail with EPIPE/ECONNRESET.
  const server = createServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS }, (req, res) => {
    void handle(state, req, res);
  });
  // Unparseable HTTP never reaches a handler; answer 400 instead of dropping the socket silently.
  server.on('clientError', (err, socket) => {
    log.warn({ event: 'storage.clientError', err }, 'malformed HTTP request');
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    else socket.destroy();
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  state.url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const notifier = new Notifier(store, options.pubsub, state.url, log);
  store.onObjectEvent(notifier.onEvent);

  const ensureBucket = async (spec: BucketSpec): Promise<void> => {
    const cors = readCors(spec.cors);
    if (await store.findBucket(spec.name)) await store.updateBucket(spec.name, (b) => ({ ...b, cors }));
    else await store.createBucket(newBucketMeta(spec.name, options.projectId, cors));
  };
  try {
    for (const spec of options.buckets ?? []) await ensureBucket(spec);
  } catch (err) {
    // A bad bucket spec must not leave a listening server behind.
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    throw err;
  }
  log.info({ event: 'storage.started', url: state.url, dataDir: options.dataDir }, 'storage emulator listening');

  return {
    url: state.url,
    host,
    port,
    dataDir: options.dataDir,
    ensureBucket,
    async addNotification(bucket: string, spec: NotificationSpec): Promise<string> {
      const config: NotificationConfig = readNotificationConfig({ ...spec }, options.projectId);
      await store.updateNotifications(bucket, (list) => [...list, config]);
      return config.id;
    },
    trustKey,
    flushNotifications: () => notifier.flush(),
    async stop(): Promise<void> {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await state.sessions.closeAll();
      await notifier.close();
    },
  };
}

async function handle(state: EmulatorState, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let style: ErrorStyle = 'json';
  // Errors of the request stream itself (client reset) must not become unhandled events.
  req.on('error', (err) => state.log.debug({ event: 'storage.requestError', err }, 'request stream error'));
  try {
    const raw = req.url ?? '/';
    const q = raw.indexOf('?');
    const rawPath = q < 0 ? raw : raw.slice(0, q);
    const rawSearch = q < 0 ? '' : raw.slice(q);
    const ctx: RequestContext = { req, res, query: new URLSearchParams(rawSearch), baseUrl: baseUrlOf(req, state.url), state };
    const route = resolveRoute(req.method ?? 'GET', rawPath, rawSearch);
    style = route.style;
    await route.run(ctx);
  } catch (thrown) {
    const err = toGcsError(thrown);
    if (err.status >= 500) state.log.error({ event: 'storage.handlerFailed', err: thrown, url: req.url }, 'handler failed');
    else state.log.debug({ event: 'storage.requestRejected', status: err.status, message: err.message, url: req.url }, 'request rejected');
    if (res.headersSent) {
      // Mid-stream failure: the only honest signal left is to cut the connection.
      res.destroy();
      return;
    }
    await drain(req);
    if (!res.writableEnded && !res.destroyed) sendError(res, err, style);
  }
}
