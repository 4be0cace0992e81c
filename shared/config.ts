import { z } from 'zod';

export type Env = Readonly<Record<string, string | undefined>>;

/** Raised when the environment does not satisfy a component's schema; lists every problem. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(readonly problems: string[]) {
    super(`invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/**
 * Parse `env` once against a zod object whose keys are variable names; every bad variable
 * is reported together.
 * @example const cfg = parseConfig(WorkerConfig, process.env)
 */
export function parseConfig<S extends z.ZodObject>(schema: S, env: Env): z.infer<S> {
  // Empty strings mean "unset", as in most shells' `VAR= cmd`.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const result = schema.safeParse(cleaned);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const key = issue.path.join('.') || '(root)';
    const got = typeof issue.path[0] === 'string' ? cleaned[issue.path[0]] : undefined;
    return `${key}: ${issue.message}${got === undefined ? '' : ` (got ${JSON.stringify(got)})`}`;
  });
  throw new ConfigError(problems);
}

/**
 * For entry modules: parse or print one readable message and exit non-zero.
 * Only entry points call this; everything else takes the parsed config as an argument.
 */
export function loadConfigOrExit<S extends z.ZodObject>(
  schema: S,
  env: Env,
  exit: (code: number) => never = (code) => process.exit(code),
  write: (text: string) => void = (text) => process.stderr.write(text),
): z.infer<S> {
  try {
    return parseConfig(schema, env);
  } catch (err) {
    if (err instanceof ConfigError) {
      write(`${err.message}\n`);
      return exit(78); // EX_CONFIG
    }
    throw err;
  }
}

/** Reusable field parsers, with units in the names of the variables that use them. */
export const fields = {
  int: (min: number, max: number) => z.coerce.number({ error: 'expected a number' }).int({ error: 'expected an integer' }).min(min).max(max),
  bool: () =>
    z
      .enum(['true', 'false', '1', '0', 'yes', 'no'], { error: 'expected true or false' })
      .transform((v) => v === 'true' || v === '1' || v === 'yes'),
  bucket: () => z.string().regex(/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/, { error: 'expected a Cloud Storage bucket name' }),
  resourceId: () => z.string().regex(/^[A-Za-z][A-Za-z0-9._~+%-]{2,254}$/, { error: 'expected a Pub/Sub resource id' }),
  hostPort: () => z.string().regex(/^[A-Za-z0-9.-]+:[0-9]{1,5}$/, { error: 'expected host:port' }),
  list: () =>
    z.string().transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
  logLevel: () => z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
};

/** What every component needs: where the project's buckets and topics are. */
export const BaseConfig = z.object({
  GOOGLE_CLOUD_PROJECT: z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, { error: 'expected a project id' }),
  UPLOADS_BUCKET: fields.bucket(),
  RESULTS_BUCKET: fields.bucket(),
  JOBS_TOPIC: fields.resourceId().default('jobs'),
  COMPLETIONS_TOPIC: fields.resourceId().default('completions'),
  DEAD_LETTER_TOPIC: fields.resourceId().default('jobs-dead-letter'),
  LOG_LEVEL: fields.logLevel().default('info'),
  /** Set in local mode only; the official clients read these themselves. */
  PUBSUB_EMULATOR_HOST: fields.hostPort().optional(),
  STORAGE_EMULATOR_HOST: z.url().optional(),
});
export type BaseConfig = z.infer<typeof BaseConfig>;

/**
 * Options for the official Storage client: the project, and in local mode the emulator as its
 * `apiEndpoint` (the client reads no emulator variable of its own). Options rather than a
 * client, so callers that import the client lazily (the worker) keep doing so.
 * @example new Storage(storageOptions(cfg))
 */
export function storageOptions(cfg: Pick<BaseConfig, 'GOOGLE_CLOUD_PROJECT' | 'STORAGE_EMULATOR_HOST'>): { projectId: string; apiEndpoint?: string } {
  return { projectId: cfg.GOOGLE_CLOUD_PROJECT, ...(cfg.STORAGE_EMULATOR_HOST ? { apiEndpoint: cfg.STORAGE_EMULATOR_HOST } : {}) };
}
