/**
 * Starts and stops the OFFICIAL Pub/Sub emulator (the Java launcher that the Debian package
 * google-cloud-cli-pubsub-emulator installs under the Cloud SDK root).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { groupAlive, sleep, spawnGroup, type GroupProcess } from './process-group.js';

export { groupAlive };

const execFileAsync = promisify(execFile);

const INSTALL_HINT =
  'install the Debian package google-cloud-cli-pubsub-emulator and Java 17 (openjdk-17-jre-headless), ' +
  'or run `make setup`, which does both';

/** The emulator or Java cannot be found; the message says what to install. */
export class PubsubEmulatorMissingError extends Error {
  override readonly name = 'PubsubEmulatorMissingError';
}

/** The emulator started but exited or never answered. */
export class PubsubEmulatorStartError extends Error {
  override readonly name = 'PubsubEmulatorStartError';
}

export interface PubsubEmulatorOptions {
  host?: string;
  /** 0 or unset: a free port. */
  port?: number;
  /** Skip `gcloud info`; mostly for tests of the missing-emulator message. */
  sdkRoot?: string;
  /** The JVM takes about 3 s to answer on a quiet machine; CI can be much slower. */
  readyTimeoutMs?: number;
  /** Called with each chunk of the emulator's stdout/stderr (it is kept for errors anyway). */
  onOutput?: (chunk: string) => void;
}

export interface PubsubEmulator {
  /** `127.0.0.1:PORT`, the value for PUBSUB_EMULATOR_HOST / the client's apiEndpoint. */
  host: string;
  port: number;
  /** The process group id: the launcher runs in its own group under a watchdog (process-group.ts). */
  pid: number;
  /** Milliseconds from spawn to the first answer. */
  startupMs: number;
  /** Kills the whole process group (launcher and JVM) and waits until it is gone. Idempotent. */
  stop(): Promise<void>;
}

/** Where the emulator launcher lives, or a PubsubEmulatorMissingError that says what to install. */
export async function findPubsubEmulator(sdkRoot?: string): Promise<string> {
  let root = sdkRoot;
  if (root === undefined) {
    try {
      const { stdout } = await execFileAsync('gcloud', ['info', '--format=value(installation.sdk_root)'], { timeout: 30_000 });
      root = stdout.trim();
    } catch (err) {
      throw new PubsubEmulatorMissingError(`gcloud (Google Cloud CLI) not found or failed (${(err as Error).message.split('\n')[0]}): ${INSTALL_HINT}`);
    }
  }
  const launcher = join(root, 'platform', 'pubsub-emulator', 'bin', 'cloud-pubsub-emulator');
  if (!root || !existsSync(launcher)) {
    throw new PubsubEmulatorMissingError(`the Pub/Sub emulator is not installed (no ${launcher}): ${INSTALL_HINT}`);
  }
  try {
    await execFileAsync('java', ['-version'], { timeout: 30_000 });
  } catch (_err) {
    throw new PubsubEmulatorMissingError(`java is not on PATH; the Pub/Sub emulator needs Java 17: ${INSTALL_HINT}`);
  }
  return launcher;
}

// `gcloud info` costs about a second; the answer does not change within a process.
let cachedLauncher: Promise<string> | undefined;
function defaultLauncher(): Promise<string> {
  cachedLauncher ??= findPubsubEmulator().catch((err: unknown) => {
    cachedLauncher = undefined;
    throw err;
  });
  return cachedLauncher;
}

/** A port nobody listens on right now (the OS picks it; there is a small race until use). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/**
 * Start the emulator on a free port and resolve once it answers HTTP on that port.
 * @example const emu = await startPubsubEmulator(); new PubSub({ projectId, apiEndpoint: emu.host }); await emu.stop();
 */
export async function startPubsubEmulator(opts: PubsubEmulatorOptions = {}): Promise<PubsubEmulator> {
  const launcher = await (opts.sdkRoot !== undefined ? findPubsubEmulator(opts.sdkRoot) : defaultLauncher());
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port || (await freePort(host));
  const started = Date.now();
  const proc = spawnGroup(launcher, [`--host=${host}`, `--port=${port}`], { ...(opts.onOutput && { onOutput: opts.onOutput }) });
  try {
    await waitUntilReady(`http://${host}:${port}/`, opts.readyTimeoutMs ?? 60_000, proc);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { host: `${host}:${port}`, port, pid: proc.pid, startupMs: Date.now() - started, stop: () => proc.stop() };
}

async function waitUntilReady(url: string, timeoutMs: number, proc: GroupProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.hasExited()) {
      throw new PubsubEmulatorStartError(`the Pub/Sub emulator exited before answering on ${url}:\n${proc.output()}`);
    }
    try {
      // The emulator answers a plain GET / with "Ok" once its server is listening.
      const res = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch (_notYet) {
      // connection refused while the JVM starts
    }
    await sleep(100);
  }
  throw new PubsubEmulatorStartError(`the Pub/Sub emulator did not answer on ${url} within ${timeoutMs} ms:\n${proc.output()}`);
}
