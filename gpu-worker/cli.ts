// `cutout`: the worker's pipeline on local files, for users who just want cutouts.
//   npx tsx gpu-worker/cli.ts photo.jpg more/ --out out/ [--outputs cutout,mask,bw,preview]
//        [--model isnet-general-1024|inspyrenet-swinb-1024|file.onnx|gs://b/o] [--spec spec.json]
//        [--sha256 HEX] [--provider auto|cuda|webgpu|cpu] [--no-refine] [--concurrency N]
// Model settings not given as flags come from the same environment variables as the worker.
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { OUTPUT_KINDS, type OutputKind } from '../schemas/common.js';
import { classify } from '../shared/errors.js';
import { parseConfig, type Env } from '../shared/config.js';
import { imagePipelineOptions } from './config.js';
import { ModelConfig } from './model/config.js';
import { PRESET_IDS } from './model/presets.js';
import type { StorageLike } from './model/provision.js';
import type { ImagePipeline } from './pipeline/contract.js';

const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp']);
const EXTENSION: Record<string, string> = { 'image/png': 'png', 'image/webp': 'webp' };
const USAGE = `usage: cutout <images or folders...> --out DIR [--outputs ${OUTPUT_KINDS.join(',')}] [--model PRESET|FILE|gs://URI]
              [--spec FILE.json] [--sha256 HEX] [--provider auto|cuda|webgpu|cpu] [--no-refine] [--concurrency N]`;

export class CliError extends Error {
  override readonly name = 'CliError';
}

export interface CliOptions {
  inputs: string[];
  out: string;
  outputs: OutputKind[];
  concurrency: number;
  /** Environment overrides the flags stand for (MODEL_PRESET, MODEL_URI...). */
  modelEnv: Record<string, string>;
}

// The flags: `string` ones take a value, `boolean` ones are switches.
const OPTIONS = {
  out: { type: 'string' },
  outputs: { type: 'string' },
  model: { type: 'string' },
  spec: { type: 'string' },
  sha256: { type: 'string' },
  provider: { type: 'string' },
  concurrency: { type: 'string' },
  'no-refine': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

/**
 * Parse the command line (pure: no file system).
 * @example parseCliArgs(['a.jpg', '--out', 'o']) // { inputs: ['a.jpg'], out: 'o', outputs: ['cutout', 'mask', 'bw'], ... }
 */
export function parseCliArgs(argv: readonly string[]): CliOptions {
  const { values, positionals: inputs } = tokens(argv);
  if (values.help) throw new CliError(USAGE);
  const modelEnv: Record<string, string> = {};
  let outputs: OutputKind[] = ['cutout', 'mask', 'bw'];
  if (values.outputs !== undefined) {
    const list = values.outputs.split(',').map((s) => s.trim());
    const bad = list.filter((k) => !(OUTPUT_KINDS as readonly string[]).includes(k));
    if (bad.length || list.length === 0) throw new CliError(`unknown output ${bad.join(', ')}: expected some of ${OUTPUT_KINDS.join(', ')}`);
    outputs = [...new Set(list)] as OutputKind[];
  }
  if (values.model !== undefined) {
    if ((PRESET_IDS as string[]).includes(values.model)) modelEnv['MODEL_PRESET'] = values.model;
    else modelEnv['MODEL_URI'] = values.model;
  }
  if (values.spec !== undefined) modelEnv['MODEL_SPEC'] = values.spec;
  if (values.sha256 !== undefined) modelEnv['MODEL_SHA256'] = values.sha256;
  if (values.provider !== undefined) modelEnv['EXECUTION_PROVIDER'] = values.provider;
  if (values['no-refine']) modelEnv['REFINE_FOREGROUND'] = 'false';
  let concurrency = 4;
  if (values.concurrency !== undefined) {
    concurrency = Number(values.concurrency);
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new CliError(`Expected positive integer for --concurrency but received ${values.concurrency}`);
  }
  if (!values.out) throw new CliError(`--out DIR is required\n${USAGE}`);
  if (inputs.length === 0) throw new CliError(`no images given\n${USAGE}`);
  return { inputs, out: values.out, outputs, concurrency, modelEnv };
}

/** `node:util`'s parser, strict: an unknown flag or a missing value is a CliError (exit 2). */
function tokens(argv: readonly string[]) {
  try {
    return parseArgs({ args: [...argv], options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CliError(`${usageProblem(err)}\n${USAGE}`);
  }
}

/** parseArgs' own errors, said the way this CLI always said them. */
function usageProblem(err: unknown): string {
  const code = (err as { code?: unknown }).code;
  const message = err instanceof Error ? err.message : String(err);
  // Node quotes the flag first: "Option '--out <value>' argument missing", "Unknown option '--x'".
  const flag = /'(-[^' ]+)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag) return `unknown option ${flag}`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && flag) {
    return OPTIONS[flag.replace(/^-+/, '') as keyof typeof OPTIONS]?.type === 'boolean' ? `${flag} takes no value` : `${flag} needs a value`;
  }
  return message;
}

/**
 * Files as given, folders expanded (recursively) to the images inside, sorted; a missing path
 * is a CliError. Shared with scripts/batch.ts.
 */
export async function expandInputs(inputs: string[]): Promise<string[]> {
  const files: string[] = [];
  for (const input of inputs) {
    const s = await stat(input).catch(() => undefined);
    if (!s) throw new CliError(`no such file or folder: ${input}`);
    if (s.isDirectory()) {
      const entries = await readdir(input, { recursive: true, withFileTypes: true });
      for (const e of entries) if (e.isFile() && IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())) files.push(join(e.parentPath, e.name));
    } else files.push(input);
  }
  return [...new Set(files)].sort();
}

function progress(done: number, total: number, failed: number, started: number): string {
  const width = 30;
  const filled = Math.round((done / total) * width);
  const elapsed = (performance.now() - started) / 1000;
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}${failed ? ` (${failed} failed)` : ''} ${elapsed.toFixed(1)} s`;
}

/** Run the CLI; returns the exit code (0 all done, 1 some failed, 2 usage). */
export async function main(argv: string[], env: Env): Promise<number> {
  let options: CliOptions;
  let files: string[];
  try {
    options = parseCliArgs(argv);
    files = await expandInputs(options.inputs);
    if (files.length === 0) throw new CliError('no images (.jpg, .jpeg, .png, .webp) found in the given folders');
  } catch (err) {
    if (err instanceof CliError) {
      process.stderr.write(`${err.message}\n`);
      return 2;
    }
    throw err;
  }
  // Flags override the environment; parsed once, then only options travel on.
  const config = parseConfig(ModelConfig, { ...env, MAX_BATCH_SIZE: env['MAX_BATCH_SIZE'] ?? String(options.concurrency), ...options.modelEnv });
  const pipelineOptions = imagePipelineOptions(config);
  const { createImagePipeline } = await import('./pipeline/pipeline.js');
  const storage: StorageLike | undefined = pipelineOptions.model.uri?.startsWith('gs://') ? new (await import('@google-cloud/storage')).Storage() : undefined;
  const quiet = { info: () => {}, warn: (_o: object, msg: string) => void process.stderr.write(`warning: ${msg}\n`) };
  const pipeline: ImagePipeline = await createImagePipeline(pipelineOptions, { logger: quiet, ...(storage ? { storage } : {}) });
  process.stderr.write(`model ${pipeline.model.id} on ${pipeline.model.provider}; ${files.length} image(s) -> ${options.out}\n`);
  await mkdir(options.out, { recursive: true });

  const tty = process.stderr.isTTY;
  const started = performance.now();
  const failures: string[] = [];
  let done = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < files.length) {
      const file = files[next++]!;
      try {
        const result = await pipeline.process({ jobId: basename(file), bytes: await readFile(file), outputs: options.outputs });
        const stem = basename(file, extname(file));
        await Promise.all(result.outputs.map((o) => writeFile(join(options.out, `${stem}.${o.kind}.${EXTENSION[o.contentType] ?? 'bin'}`), o.data)));
        if (!tty) process.stderr.write(`ok ${file} (${Math.round(result.timingsMs['total'] ?? 0)} ms)\n`);
      } catch (err) {
        const c = classify(err);
        failures.push(`${file}: ${c.code}: ${c.message}`);
        if (!tty) process.stderr.write(`failed ${file}: ${c.code}\n`);
      }
      done++;
      if (tty) process.stderr.write(`\r${progress(done, files.length, failures.length, started)}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, files.length) }, worker));
  await pipeline.close();
  const seconds = (performance.now() - started) / 1000;
  if (tty) process.stderr.write('\n');
  for (const f of failures) process.stderr.write(`failed ${f}\n`);
  process.stdout.write(
    `${files.length - failures.length} done, ${failures.length} failed in ${seconds.toFixed(1)} s (${(files.length / seconds).toFixed(2)} images/s) with ${pipeline.model.id} on ${pipeline.model.provider}; outputs in ${options.out}\n`,
  );
  return failures.length ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2), process.env).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`cutout: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
