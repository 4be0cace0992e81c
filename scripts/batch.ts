/**
 * `batch`: the operator's reprocessing command. Drops images under gs://UPLOADS/batch/NAME/
 * (the same path a `gcloud storage cp` drop takes, so the same trigger, validation and worker
 * handle them), derives each file's job id exactly as the trigger does (bucket + object +
 * generation), then follows the status documents until every job has ended and prints a
 * summary.
 *
 *   npx tsx scripts/batch.ts <images or folders...> [--name NAME] [--timeout SECONDS] [--concurrency N]
 *
 * Environment: GOOGLE_CLOUD_PROJECT, UPLOADS_BUCKET, RESULTS_BUCKET (and, in local mode,
 * STORAGE_EMULATOR_HOST and GOOGLE_APPLICATION_CREDENTIALS as `make up` prints them). Exit status: 0 every job succeeded,
 * 1 some were rejected or failed, 2 usage, 3 some had not ended when the timeout came.
 */
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Storage } from '@google-cloud/storage';
import type { z } from 'zod';
import { CliError, expandInputs } from '../gpu-worker/cli.js';
import type { JobStatus } from '../schemas/status.js';
import { BaseConfig, fields, parseConfig, ConfigError, storageOptions, type Env } from '../shared/config.js';
import { batchJobId } from '../shared/ids.js';
import { BATCH_PREFIX } from '../shared/paths.js';
import { isTerminal } from '../shared/job/index.js';
import { createStatusStore, gcsDocObjects } from '../shared/status-store.js';

const CONTENT_TYPES: Record<string, string> = { '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.png': 'image/png', '.webp': 'image/webp' };
const USAGE = 'usage: batch <images or folders...> [--name NAME] [--timeout SECONDS] [--concurrency N]';
const POLL_MS = 500;

export class BatchUsageError extends Error {
  override readonly name = 'BatchUsageError';
}

export interface BatchOptions {
  inputs: string[];
  /** The folder under batch/; defaults to the UTC time the command started. */
  name: string;
  timeoutSeconds: number;
  concurrency: number;
}

/** @example parseBatchArgs(['photos/', '--name', 'spring-sale'], new Date()) */
export function parseBatchArgs(argv: readonly string[], now: Date): BatchOptions {
  const { values, positionals } = parseOrUsage(argv);
  if (values.help) throw new BatchUsageError(USAGE);
  const positive = (option: string, v: string | undefined, fallback: number): number => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new BatchUsageError(`${option} expects a positive integer, got ${v}`);
    return n;
  };
  const name = values.name ?? now.toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
  // One path segment: the trigger and the job ids see it as part of the object name.
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(name) || name === '.' || name === '..') throw new BatchUsageError(`--name must be letters, digits, '.', '_' or '-' (got ${name})`);
  if (positionals.length === 0) throw new BatchUsageError(`no images given\n${USAGE}`);
  return { inputs: positionals, name, timeoutSeconds: positive('--timeout', values.timeout, 600), concurrency: positive('--concurrency', values.concurrency, 4) };
}

/** node:util's parseArgs, with its errors said the way the usage line says them. */
function parseOrUsage(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      options: { name: { type: 'string' }, timeout: { type: 'string' }, concurrency: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const option = /'(-[^' ]+)/.exec(err instanceof Error ? err.message : '')?.[1] ?? 'an option';
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new BatchUsageError(`unknown option ${option}\n${USAGE}`);
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') throw new BatchUsageError(`${option} needs a value\n${USAGE}`);
    throw err;
  }
}

/** The CLI's expansion, plus the rule a batch folder adds: each file name once. */
async function batchFiles(inputs: string[]): Promise<string[]> {
  let files: string[];
  try {
    files = await expandInputs(inputs);
  } catch (err) {
    throw err instanceof CliError ? new BatchUsageError(err.message) : err;
  }
  const names = files.map((f) => basename(f));
  const clash = names.find((n, i) => names.indexOf(n) !== i);
  if (clash) throw new BatchUsageError(`two files are named ${clash}: a batch folder holds each name once`);
  return files;
}

const BatchConfig = BaseConfig.extend({ BATCH_POLL_MS: fields.int(10, 60_000).default(POLL_MS) });

interface Item {
  file: string;
  object: string;
  jobId?: string;
  state: string;
  detail?: string;
}

async function inPool<T>(items: T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

/** Runs the command; returns the exit status. Output goes to `out` (progress) and the summary to stdout. */
export async function main(argv: string[], env: Env, out: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<number> {
  let options: BatchOptions;
  let files: string[];
  let cfg: z.infer<typeof BatchConfig>;
  try {
    options = parseBatchArgs(argv, new Date());
    files = await batchFiles(options.inputs);
    if (files.length === 0) throw new BatchUsageError('no images (.jpg, .jpeg, .png, .webp) in the given folders');
    cfg = parseConfig(BatchConfig, env);
  } catch (err) {
    if (err instanceof BatchUsageError || err instanceof ConfigError) {
      out(err.message);
      return 2;
    }
    throw err;
  }
  const storage = new Storage(storageOptions(cfg));
  const uploads = storage.bucket(cfg.UPLOADS_BUCKET);
  const statuses = createStatusStore(gcsDocObjects(storage.bucket(cfg.RESULTS_BUCKET)));
  const items: Item[] = files.map((file) => ({ file, object: `${BATCH_PREFIX}${options.name}/${basename(file)}`, state: 'uploading' }));
  out(`batch ${options.name}: ${items.length} file(s) -> gs://${cfg.UPLOADS_BUCKET}/${BATCH_PREFIX}${options.name}/`);

  await inPool(items, options.concurrency, async (item) => {
    const file = uploads.file(item.object);
    try {
      // The declared type is only a hint for batch drops: the trigger trusts the content.
      await file.save(await readFile(item.file), { resumable: false, contentType: CONTENT_TYPES[extname(item.file).toLowerCase()] ?? 'application/octet-stream' });
      item.jobId = batchJobId(cfg.UPLOADS_BUCKET, item.object, String(file.metadata.generation));
      item.state = 'uploaded';
    } catch (err) {
      item.state = 'not_uploaded';
      item.detail = err instanceof Error ? err.message : String(err);
      out(`  ${basename(item.file)}: upload failed: ${item.detail}`);
    }
  });

  const deadline = Date.now() + options.timeoutSeconds * 1000;
  const open = (): Item[] => items.filter((i) => i.jobId && !isTerminal(i.state as JobStatus['state']));
  let ended = items.length - open().length;
  while (open().length > 0 && Date.now() < deadline) {
    await inPool(open(), options.concurrency, async (item) => {
      const doc = (await statuses.get(item.jobId!).catch(() => undefined))?.doc;
      if (!doc || doc.state === item.state) return;
      item.state = doc.state;
      if (doc.error) item.detail = `${doc.error.code}: ${doc.error.message}`;
      if (isTerminal(doc.state)) out(`  [${++ended}/${items.length}] ${basename(item.file)} ${doc.state}${doc.error ? ` (${doc.error.code})` : ''}`);
    });
    if (open().length > 0) await new Promise((r) => setTimeout(r, cfg.BATCH_POLL_MS));
  }

  const count = (state: string): number => items.filter((i) => i.state === state).length;
  for (const i of items) process.stdout.write(`${basename(i.file)}\t${i.jobId ?? '-'}\t${i.state}${i.detail ? `\t${i.detail}` : ''}\n`);
  const unfinished = open().length;
  process.stdout.write(
    `batch ${options.name}: ${count('succeeded')} succeeded, ${count('rejected')} rejected, ${count('failed')} failed` +
      `${count('not_uploaded') ? `, ${count('not_uploaded')} not uploaded` : ''}${unfinished ? `, ${unfinished} not finished after ${options.timeoutSeconds} s` : ''}\n`,
  );
  if (unfinished > 0) return 3;
  return count('succeeded') === items.length ? 0 : 1;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2), process.env);
}
