/**
 * Child processes that cannot outlive us. Each command runs in a process group of its own
 * under a small sh watchdog: stop() signals the whole group (so grandchildren such as the
 * emulator's JVM or tsx's esbuild go too), and if this Node process dies without stopping it
 * (SIGKILL, a test-runner timeout), the watchdog notices within a second and kills the group.
 */
import { spawn, type ChildProcess } from 'node:child_process';

// $1 = our pid, $2.. = the command. The command runs in the background so the shell can watch
// both it and us; `exec` is not possible for the same reason.
const WATCHDOG = `
parent=$1; shift
"$@" &
child=$!
trap 'kill -TERM "$child" 2>/dev/null; wait "$child"; exit 0' TERM
while kill -0 "$parent" 2>/dev/null && kill -0 "$child" 2>/dev/null; do sleep 1; done
kill -KILL -$$ 2>/dev/null
`;

export interface GroupProcess {
  child: ChildProcess;
  /** Also the process group id. */
  pid: number;
  /** Last 20 kB of the command's stdout and stderr. */
  output(): string;
  /** Resolves with the exit code (or signal) once the watchdog has exited. */
  exited: Promise<number | string | null>;
  hasExited(): boolean;
  /** SIGTERM to the group, SIGKILL after `graceMs`; resolves when no member is left. Idempotent. */
  stop(graceMs?: number): Promise<void>;
}

export function spawnGroup(command: string, args: string[], opts: { env?: NodeJS.ProcessEnv; onOutput?: (chunk: string) => void } = {}): GroupProcess {
  const child = spawn('/bin/sh', ['-c', WATCHDOG, 'localcloud-watchdog', String(process.pid), command, ...args], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: opts.env ?? process.env,
  });
  let output = '';
  const collect = (chunk: Buffer): void => {
    const text = chunk.toString();
    output = (output + text).slice(-20_000);
    opts.onOutput?.(text);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let done = false;
  const exited = new Promise<number | string | null>((resolve) =>
    child.once('exit', (code, signal) => {
      done = true;
      resolve(code ?? signal);
    }),
  );
  const pid = child.pid;
  if (pid === undefined) throw new Error(`could not start ${command}`);
  // Belt and braces for a normal process.exit() without stop(): 'exit' handlers must be synchronous.
  const onExit = (): void => signalGroup(pid, 'SIGKILL');
  process.once('exit', onExit);
  let stopping: Promise<void> | undefined;
  const stop = (graceMs = 5_000): Promise<void> =>
    (stopping ??= (async () => {
      signalGroup(pid, 'SIGTERM');
      const deadline = Date.now() + graceMs;
      while (groupAlive(pid) && Date.now() < deadline) await sleep(50);
      for (let i = 0; groupAlive(pid) && i < 100; i++) {
        signalGroup(pid, 'SIGKILL');
        await sleep(50);
      }
      await Promise.race([exited, sleep(1_000)]);
      process.removeListener('exit', onExit);
      child.stdout?.destroy();
      child.stderr?.destroy();
      if (groupAlive(pid)) throw new Error(`process group ${pid} (${command}) survived SIGKILL`);
    })());
  return { child, pid, output: () => output, exited, hasExited: () => done, stop };
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

/** True while any process of the group exists (signal 0 checks without signalling). */
export function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
