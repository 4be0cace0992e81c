/**
 * Runs a function under the real functions-framework CLI as a child process, the way Cloud
 * Functions gen2 does, so the bridge's events go through the framework's own CloudEvent parsing.
 */
import { fileURLToPath } from 'node:url';
import { spawnGroup } from './process-group.js';
import { freePort } from './pubsub.js';

const FRAMEWORK_BIN = fileURLToPath(new URL('../../node_modules/.bin/functions-framework', import.meta.url));

export interface FunctionProcessOptions {
  /** File or directory of the function source (a .js/.mjs file; TS needs NODE_OPTIONS='--import tsx' in env). */
  source: string;
  target: string;
  signatureType?: 'cloudevent' | 'http' | 'event';
  /** Extra environment for the function, on top of this process's. */
  env?: Record<string, string>;
  port?: number;
  readyTimeoutMs?: number;
  /** Each chunk of the function's output as it comes (`make up` and DEMO_VERBOSE show it). */
  onOutput?: (chunk: string) => void;
}

export interface FunctionProcess {
  url: string;
  port: number;
  pid: number;
  /** The function's stdout and stderr so far, for assertions and failure messages. */
  output(): string;
  /** SIGTERM to its process group, SIGKILL after 5 s; resolves when all of it has exited. Idempotent. */
  stop(): Promise<void>;
}

/** @example const fn = await startFunction({ source: 'fixtures/recorder.mjs', target: 'recorder' }); bridge.routeStorage(fn.url) */
export async function startFunction(opts: FunctionProcessOptions): Promise<FunctionProcess> {
  const port = opts.port ?? (await freePort());
  // Its own process group: with NODE_OPTIONS='--import tsx' the function has an esbuild child too.
  const proc = spawnGroup(
    FRAMEWORK_BIN,
    [`--target=${opts.target}`, `--signature-type=${opts.signatureType ?? 'cloudevent'}`, `--source=${opts.source}`, `--port=${port}`],
    { env: { ...process.env, ...opts.env }, ...(opts.onOutput && { onOutput: opts.onOutput }) },
  );
  const stop = (): Promise<void> => proc.stop();
  const url = `http://127.0.0.1:${port}/`;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 20_000);
  for (;;) {
    if (proc.hasExited()) throw new Error(`functions-framework exited before listening:\n${proc.output()}`);
    try {
      // Any HTTP answer (a GET without CloudEvent headers gets a 4xx/5xx) means it listens.
      await (await fetch(url, { signal: AbortSignal.timeout(1_000) })).arrayBuffer();
      break;
    } catch (_notYet) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`functions-framework did not listen on ${url} in time:\n${proc.output()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  return { url, port, pid: proc.pid, output: () => proc.output(), stop };
}
