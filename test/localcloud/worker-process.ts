/**
 * The worker as a real child process (`node --import tsx gpu-worker/main.ts`), the way it
 * runs in its container, so signals, exit codes and startup order are the real ones.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { linePrefixer } from './prefix-lines.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DEFAULT_ENTRY = 'gpu-worker/main.ts';
// The production worker has no test hooks; with their variables set, the entry that injects them.
const HOOKS_ENTRY = 'test/support/worker-entry.ts';
const HOOK_VARIABLES = ['DEBUG_JOB_DELAY_MS', 'DEBUG_FAIL_CLIENT_REF', 'DEBUG_PREVIEW_HOLD_MS'];

// Never leave a worker behind when the test runner or the demo exits; one listener for all.
const LIVE = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of LIVE) child.kill('SIGKILL');
});

// ...and when this process is killed outright (SIGKILL, a runner timeout), an 'exit' listener
// never runs: a detached sh watches both pids and kills the worker once we are gone. The worker
// stays our direct child, so tests still signal its real pid.
const WATCHDOG = 'while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done; kill -KILL "$2" 2>/dev/null';
function watchOver(workerPid: number): void {
  const dog = spawn('/bin/sh', ['-c', WATCHDOG, 'worker-watchdog', String(process.pid), String(workerPid)], { detached: true, stdio: 'ignore' });
  dog.unref();
}

export interface WorkerProcessOptions {
  env: Record<string, string>;
  /**
   * The entry file, relative to the repository root. Default the production one,
   * `gpu-worker/main.ts`; a test entry that injects hooks into the job handler goes here.
   */
  entry?: string;
  /** Prefix for the worker's output lines when `echo` is on. */
  name?: string;
  /** Copy the worker's output to this process's stderr (the demo's verbose mode). */
  echo?: boolean;
}

export class WorkerProcess {
  readonly startedAt = Date.now();
  private readonly child: ChildProcess;
  private log = '';
  private readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;

  private constructor(
    readonly port: number,
    opts: WorkerProcessOptions,
  ) {
    const entry = opts.entry ?? (HOOK_VARIABLES.some((v) => opts.env[v]) ? HOOKS_ENTRY : DEFAULT_ENTRY);
    this.child = spawn(process.execPath, ['--import', 'tsx', entry], {
      cwd: ROOT,
      // MALLOC_ARENA_MAX as the worker image sets it (gpu-worker/Dockerfile).
      env: { ...process.env, METADATA_SERVER_DETECTION: 'none', MALLOC_ARENA_MAX: '2', ...opts.env, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // One prefixer per stream: each keeps its own unfinished line.
    const collector = (): ((chunk: Buffer) => void) => {
      const echo = opts.echo ? linePrefixer(opts.name ?? 'worker') : undefined;
      return (chunk) => {
        this.log = (this.log + chunk.toString()).slice(-200_000);
        echo?.(chunk.toString());
      };
    };
    this.child.stdout?.on('data', collector());
    this.child.stderr?.on('data', collector());
    LIVE.add(this.child);
    if (this.child.pid !== undefined) watchOver(this.child.pid);
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => {
        LIVE.delete(this.child);
        this.exitInfo = { code, signal };
        resolve(this.exitInfo);
      }),
    );
  }

  static start(port: number, opts: WorkerProcessOptions): WorkerProcess {
    return new WorkerProcess(port, opts);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
  output(): string {
    return this.log;
  }
  /** Parsed JSON log lines with the given `event`. */
  events(event: string): Array<Record<string, unknown>> {
    return this.log
      .split('\n')
      .filter((l) => l.startsWith('{') && l.includes(`"event":"${event}"`))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /**
   * Waits until `count` log lines of `event` match: a log line can reach us after the
   * completion event it follows, since they travel different pipes.
   */
  async waitForLog(event: string, match: (line: Record<string, unknown>) => boolean = () => true, count = 1, timeoutMs = 10_000): Promise<Array<Record<string, unknown>>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.events(event).filter(match);
      if (found.length >= count) return found;
      if (Date.now() > deadline) throw new Error(`worker logged ${found.length} of ${count} ${event} lines within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  /** Resolves with ms since spawn once /readyz answers 200; rejects if the process exits first. */
  async waitReady(timeoutMs = 120_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (this.exitInfo) throw new Error(`worker exited (${JSON.stringify(this.exitInfo)}) before ready:\n${this.log.slice(-4000)}`);
      try {
        const res = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(1000) });
        if (res.status === 200) return Date.now() - this.startedAt;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`worker not ready after ${timeoutMs} ms:\n${this.log.slice(-4000)}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  }

  kill(signal: NodeJS.Signals): void {
    if (!this.exitInfo) this.child.kill(signal);
  }

  waitExit(): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    return this.exited;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once exited. */
  async stop(graceMs = 15_000): Promise<void> {
    if (this.exitInfo) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}
