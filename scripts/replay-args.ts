/** The arguments of `replay` (scripts/replay.ts), through node:util's parseArgs. */
import { parseArgs } from 'node:util';
import { isJobId } from '../shared/ids.js';

const USAGE = 'usage: replay [JOB_ID ...] [--subscription NAME] [--idle SECONDS] | --stuck MINUTES';

export class ReplayUsageError extends Error {
  override readonly name = 'ReplayUsageError';
}

export interface ReplayOptions {
  jobIds: string[];
  subscription?: string;
  idleSeconds: number;
  /** Sweep mode: jobs unchanged for this many minutes while queued or processing. */
  stuckMinutes?: number;
}

const OPTIONS = {
  subscription: { type: 'string' },
  idle: { type: 'string' },
  stuck: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** @example parseReplayArgs(['--idle', '10']) // { jobIds: [], idleSeconds: 10 } */
export function parseReplayArgs(argv: readonly string[]): ReplayOptions {
  const { values, positionals } = parse(argv);
  if (values.help) throw new ReplayUsageError(USAGE);
  const bad = positionals.find((arg) => !isJobId(arg));
  if (bad !== undefined) throw new ReplayUsageError(`${bad} is not a job id (32 lower-case hex digits)\n${USAGE}`);
  const idleSeconds = values.idle === undefined ? 5 : Number(values.idle);
  if (!Number.isInteger(idleSeconds) || idleSeconds < 1 || idleSeconds > 600) throw new ReplayUsageError(`--idle expects whole seconds from 1 to 600, got ${values.idle}`);
  const stuckMinutes = values.stuck === undefined ? undefined : Number(values.stuck);
  if (stuckMinutes !== undefined && (!Number.isFinite(stuckMinutes) || stuckMinutes < 0)) throw new ReplayUsageError(`--stuck expects minutes (0 or more), got ${values.stuck}`);
  const { subscription } = values;
  const modes = [positionals.length > 0, subscription !== undefined, stuckMinutes !== undefined].filter(Boolean).length;
  if (modes > 1) throw new ReplayUsageError(`give one of: job ids, --subscription, --stuck\n${USAGE}`);
  return { jobIds: positionals, ...(subscription !== undefined ? { subscription } : {}), idleSeconds, ...(stuckMinutes !== undefined ? { stuckMinutes } : {}) };
}

function parse(argv: readonly string[]) {
  try {
    return parseArgs({ args: joinNegativeValues(argv), options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new ReplayUsageError(`${usageProblem(err)}\n${USAGE}`);
  }
}

/** `--stuck -1` as `--stuck=-1`: parseArgs takes a value starting with a dash for an option; the range check then says why it is wrong. */
function joinNegativeValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    if ((arg === '--idle' || arg === '--stuck') && next !== undefined && /^-[0-9.]/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

/** parseArgs' errors in this command's words. */
function usageProblem(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  const option = /'(-[^' ]+)/.exec((err as Error).message)?.[1] ?? '';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${option}`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') return `${option} needs a value`;
  throw err;
}
