/**
 * `make localcloud`: start the Pub/Sub emulator, the Storage emulator and the Eventarc bridge,
 * print the environment as `export K=V` lines (stdout; logs go to stderr), stay up until
 * Ctrl-C or SIGTERM, then shut everything down. The emulators only: no function or worker
 * runs, so an upload is warned about on stderr (`make up` starts the whole system), unless
 * LOCALCLOUD_STORAGE_FUNCTION_URL names an onObjectFinalized you run yourself.
 *
 * Settings (all optional): LOCALCLOUD_DATA_DIR (default .localcloud, kept between runs),
 * LOCALCLOUD_PROJECT_ID, UPLOADS_BUCKET, RESULTS_BUCKET, JOBS_TOPIC, COMPLETIONS_TOPIC,
 * DEAD_LETTER_TOPIC, JOBS_SUBSCRIPTION, LOCALCLOUD_CORS_ORIGINS (comma-separated),
 * LOCALCLOUD_PUBSUB_PORT, LOCALCLOUD_STORAGE_PORT, LOCALCLOUD_STORAGE_FUNCTION_URL,
 * LOCALCLOUD_DEAD_LETTER_FUNCTION_URL, LOG_LEVEL.
 */
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { fields, loadConfigOrExit, type Env } from '../../shared/config.js';
import { createLogger } from '../../shared/logger.js';
import { startLocalCloud, topologyNames, type LocalCloudOptions } from './index.js';
import { unroutedWarning } from './unrouted.js';

const CliConfig = z.object({
  LOCALCLOUD_DATA_DIR: z.string().default('.localcloud'),
  LOCALCLOUD_PROJECT_ID: z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, { error: 'expected a project id' }).optional(),
  UPLOADS_BUCKET: fields.bucket().optional(),
  RESULTS_BUCKET: fields.bucket().optional(),
  LOCALCLOUD_CORS_ORIGINS: fields.list().optional(),
  LOCALCLOUD_PUBSUB_PORT: fields.int(1, 65535).optional(),
  LOCALCLOUD_STORAGE_PORT: fields.int(1, 65535).optional(),
  LOCALCLOUD_STORAGE_FUNCTION_URL: z.url().optional(),
  LOCALCLOUD_DEAD_LETTER_FUNCTION_URL: z.url().optional(),
  LOG_LEVEL: fields.logLevel().default('info'),
});

/** Options for startLocalCloud from the environment (exits 78 with every problem listed). */
export function cliOptions(env: Env): LocalCloudOptions & { logLevel: string } {
  const c = loadConfigOrExit(CliConfig, env);
  return {
    dataDir: c.LOCALCLOUD_DATA_DIR,
    names: topologyNames(env),
    logLevel: c.LOG_LEVEL,
    ...(c.LOCALCLOUD_PROJECT_ID && { projectId: c.LOCALCLOUD_PROJECT_ID }),
    ...(c.UPLOADS_BUCKET && { uploadsBucket: c.UPLOADS_BUCKET }),
    ...(c.RESULTS_BUCKET && { resultsBucket: c.RESULTS_BUCKET }),
    ...(c.LOCALCLOUD_CORS_ORIGINS && { corsOrigins: c.LOCALCLOUD_CORS_ORIGINS }),
    ...(c.LOCALCLOUD_PUBSUB_PORT && { pubsubPort: c.LOCALCLOUD_PUBSUB_PORT }),
    ...(c.LOCALCLOUD_STORAGE_PORT && { storagePort: c.LOCALCLOUD_STORAGE_PORT }),
    ...(c.LOCALCLOUD_STORAGE_FUNCTION_URL && { storageFunctionUrl: c.LOCALCLOUD_STORAGE_FUNCTION_URL }),
    ...(c.LOCALCLOUD_DEAD_LETTER_FUNCTION_URL && { deadLetterFunctionUrl: c.LOCALCLOUD_DEAD_LETTER_FUNCTION_URL }),
  };
}

/**
 * `export K='V'` lines, single-quoted so a shell `eval` takes paths with spaces literally.
 * @example formatExports({ A: "it's" }) === "export A='it'\\''s'\n"
 */
export function formatExports(env: Record<string, string>): string {
  return Object.entries(env)
    .map(([k, v]) => `export ${k}='${v.replaceAll("'", `'\\''`)}'\n`)
    .join('');
}

async function main(): Promise<void> {
  // `make localcloud` exports this; a direct run must not have the clients probe the GCE metadata server either.
  process.env['METADATA_SERVER_DETECTION'] ??= 'none';
  const { logLevel, ...options } = cliOptions(process.env);
  const log = createLogger({ component: 'localcloud', level: logLevel }, process.stderr);
  const routed = options.storageFunctionUrl !== undefined;
  const cloud = await startLocalCloud({ ...options, logger: log, ...(!routed && { onUnroutedFinalize: (o) => process.stderr.write(`${unroutedWarning(o)}\n`) }) });
  process.stdout.write(`# localcloud is up (data in ${cloud.dataDir}); Ctrl-C stops it.\n${formatExports(cloud.env)}`);
  if (!routed) process.stderr.write('localcloud: the emulators only; no function or worker runs here. `make up` starts the whole system.\n');
  let signals = 0;
  const shutdown = (signal: NodeJS.Signals): void => {
    // A second Ctrl-C while stopping means "now".
    if (++signals > 1) process.exit(130);
    log.info({ event: 'localcloud.stopping', signal }, 'stopping localcloud');
    cloud.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ event: 'localcloud.stop_failed', err }, 'stopping localcloud failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', shutdown);
  process.on('SIGTERM', shutdown);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    process.stderr.write(`localcloud: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
