/**
 * One of our entry points started under tsx the way a user starts it, with what it writes to
 * stdout and stderr gathered as it goes. Shared by the tests that drive `make localcloud` and
 * `make up` as real processes and read the export lines they print.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';

export interface Spawned {
  child: ChildProcessByStdio<null, Readable, Readable>;
  /** All it wrote to stdout so far. */
  readonly stdout: string;
  /** All it wrote to stderr so far. */
  readonly stderr: string;
  /** Its exit code once it exits. */
  exited: Promise<number | null>;
  /**
   * Polls until `done()` holds; fails, naming `what` with both streams, when the deadline passes
   * or the process exits first (so a crash reads as its own output, not as a timeout).
   */
  until(done: () => boolean, what: string, timeoutMs?: number, everyMs?: number): Promise<void>;
}

export function spawnTsx(args: string[], options: { env: NodeJS.ProcessEnv; cwd?: string }): Spawned {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    exited,
    async until(done, what, timeoutMs = 60_000, everyMs = 100) {
      const deadline = Date.now() + timeoutMs;
      while (!done()) {
        if (Date.now() > deadline || child.exitCode !== null) assert.fail(`${what}; stdout:\n${stdout}\nstderr:\n${stderr.slice(-4000)}`);
        await new Promise((r) => setTimeout(r, everyMs));
      }
    },
  };
}

/** The variables of `export NAME='value'` lines (the shape formatExports writes). */
export function parseExports(text: string): Record<string, string> {
  return Object.fromEntries([...text.matchAll(/^export (\w+)='([^']*)'$/gm)].map((m) => [m[1]!, m[2]!]));
}
