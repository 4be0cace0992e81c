/**
 * `make up`: the whole system on this machine until Ctrl-C. localcloud (Pub/Sub emulator,
 * Storage emulator, Eventarc bridge), the four functions under functions-framework, the
 * worker on the embedded ISNet, and the storefront pages of `web/` on an origin of their own.
 *
 *   npx tsx scripts/up.ts [--tiny] [--quiet] [--web DIR] [--web-port N]
 *
 * stdout carries only the `export K='V'` lines another shell needs (`npm run batch`, the
 * worker CLI, a function run by hand); they are also written to DATA_DIR/env.sh. Everything
 * else (process logs, the URLs) goes to stderr. Ctrl-C or SIGTERM stops every process it
 * started; a second Ctrl-C exits at once (the process groups are still killed).
 *
 * Settings: LOCALCLOUD_DATA_DIR (default .localcloud/up, kept between runs), LOG_LEVEL.
 */
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { fields, loadConfigOrExit } from '../shared/config.js';
import { formatExports } from '../test/localcloud/cli.js';
import { Stack } from '../test/localcloud/stack.js';

const USAGE = 'usage: up [--tiny] [--quiet] [--web DIR] [--web-port N]';

export class UpUsageError extends Error {
  override readonly name = 'UpUsageError';
}

export interface UpOptions {
  /** The tiny in-code model instead of ISNet: ready in seconds, outputs are not real cut-outs (tests). */
  tiny: boolean;
  /** Process logs at warn and above only. */
  quiet: boolean;
  webDir: string;
  /** 0: a free port. */
  webPort: number;
}

/** @example parseUpArgs(['--tiny', '--web-port', '8000']) -> { tiny: true, quiet: false, webDir: 'web', webPort: 8000 } */
export function parseUpArgs(argv: string[]): UpOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { tiny: { type: 'boolean', default: false }, quiet: { type: 'boolean', default: false }, web: { type: 'string', default: 'web' }, 'web-port': { type: 'string', default: '0' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UpUsageError(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
  }
  if (values.help) throw new UpUsageError(USAGE);
  const webPort = Number(values['web-port']);
  if (!Number.isInteger(webPort) || webPort < 0 || webPort > 65535) throw new UpUsageError(`--web-port expects a port number, got ${values['web-port']}`);
  return { tiny: values.tiny, quiet: values.quiet, webDir: values.web, webPort };
}

const UpConfig = z.object({
  LOCALCLOUD_DATA_DIR: z.string().default('.localcloud/up'),
  LOG_LEVEL: fields.logLevel().default('info'),
});

const say = (line: string): void => void process.stderr.write(`${line}\n`);

async function main(): Promise<void> {
  const t0 = Date.now();
  let options: UpOptions;
  try {
    options = parseUpArgs(process.argv.slice(2));
  } catch (err) {
    say((err as Error).message);
    process.exit(2);
  }
  const cfg = loadConfigOrExit(UpConfig, process.env);
  const webDir = resolve(options.webDir);
  const serveWeb = existsSync(webDir);
  if (!serveWeb) say(`up: no ${options.webDir}/ directory: the storefront page is not served`);
  const model = options.tiny ? 'the tiny test model' : 'ISNet on CPU';
  say(`up: starting localcloud, the four functions and the worker (${model}) ...`);
  // Until the stack exists a signal just exits: the 'exit' handlers kill what has started.
  let onSignal = (): void => process.exit(130);
  process.on('SIGINT', () => onSignal());
  process.on('SIGTERM', () => onSignal());

  const stack = await Stack.start({
    tinyModel: options.tiny,
    startWorker: false,
    echo: true,
    logLevel: options.quiet ? 'warn' : cfg.LOG_LEVEL,
    dataDir: cfg.LOCALCLOUD_DATA_DIR,
    ...(serveWeb && { web: { dir: webDir, port: options.webPort } }),
  });
  let stopping = false;
  const stop = (code: number): void => {
    if (stopping) return;
    stopping = true;
    say('up: stopping everything ...');
    stack.stop().then(
      () => {
        say('up: stopped');
        process.exit(code);
      },
      (err: unknown) => {
        say(`up: stopping failed: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      },
    );
  };
  let signals = 0;
  onSignal = (): void => {
    // A second Ctrl-C while stopping means "now"; the process groups are killed on exit.
    if (++signals > 1) process.exit(130);
    stop(0);
  };

  try {
    const worker = await stack.startWorker();
    await worker.waitReady(300_000);
    void worker.waitExit().then((info) => {
      if (stopping) return;
      say(`up: the worker exited (${JSON.stringify(info)}); stopping the rest`);
      stop(1);
    });
  } catch (err) {
    say(`up: the worker did not start: ${err instanceof Error ? err.message : String(err)}`);
    stop(1);
    return;
  }
  if (stopping) return;

  const f = stack.functions;
  const env = { ...stack.cloud.env, CREATE_UPLOAD_URL: f.createUpload.url, GET_STATUS_URL: f.getStatus.url, ...(stack.web && { WEB_URL: stack.web.url }) };
  const envFile = join(resolve(stack.cloud.dataDir), 'env.sh');
  await writeFile(envFile, formatExports(env));
  process.stdout.write(formatExports(env));
  say(
    [
      '',
      `petcutout is up after ${((Date.now() - t0) / 1000).toFixed(1)} s (worker on ${model}); Ctrl-C stops everything.`,
      ...(stack.web ? [`  open ${stack.web.url} in a browser (the demo shop page; its API config: ${stack.web.origin}/config.json)`] : []),
      `  createUpload       ${f.createUpload.url}uploads  (POST)`,
      `  getStatus          ${f.getStatus.url}jobs/{jobId}  (GET)`,
      `  onObjectFinalized  ${f.onObjectFinalized.url}  (finalize events of gs://${stack.cloud.uploadsBucket})`,
      `  onDeadLetter       ${f.onDeadLetter.url}  (topic ${stack.cloud.names.deadLetterTopic})`,
      `  worker             ${stack.worker?.url ?? '?'}/readyz, /metrics`,
      `  Storage emulator   ${stack.cloud.storageUrl}   Pub/Sub emulator ${stack.cloud.pubsubHost}`,
      `  data               ${stack.cloud.dataDir}`,
      '',
      `In another shell, take the export lines above (also in ${envFile}), then run a batch:`,
      `  source ${envFile}`,
      '  npm run batch -- test/fixtures/photos --name spring-sale',
      '',
    ].join('\n'),
  );
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    say(`up: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  });
}
