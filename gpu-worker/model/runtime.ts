import { availableParallelism } from 'node:os';
import ort from 'onnxruntime-node';
import type { InferenceSession } from 'onnxruntime-node';
import { EVENTS } from '../log-events.js';

export const PROVIDER_CHOICES = ['auto', 'cuda', 'webgpu', 'cpu'] as const;
export type ProviderChoice = (typeof PROVIDER_CHOICES)[number];
export type Provider = Exclude<ProviderChoice, 'auto'>;
/** `auto` tries the fastest first; the first that loads wins. */
export const AUTO_ORDER: readonly Provider[] = ['cuda', 'webgpu', 'cpu'];
const GPU_PROVIDERS: ReadonlySet<Provider> = new Set(['cuda', 'webgpu']);

/** Structured logging as pino does it; tests pass a recorder. */
export interface ModelLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  /** Problems that change what the worker does (a batch refused); loggers without it get `warn`. */
  error?(obj: object, msg: string): void;
}

/** A model could not be loaded as configured (no provider, GPU required but absent...). */
export class ModelLoadError extends Error {
  override readonly name = 'ModelLoadError';
}

export interface RuntimeOptions {
  provider: ProviderChoice;
  /** Fail instead of falling back to CPU: a GPU instance silently running on CPU is 50x slower. */
  requireGpu: boolean;
  /** 0 means one per core. */
  intraOpThreads: number;
  /** The arena makes repeated runs allocation-free at the cost of ~1 GB RSS with ISNet; off unless asked. */
  enableCpuMemArena?: boolean;
  logger?: ModelLogger;
}

export type CreateSession = (path: string, options: InferenceSession.SessionOptions) => Promise<InferenceSession>;

/**
 * The tuned session options for one provider.
 * @example sessionOptions('cpu', 2).executionProviders // ['cpu']
 */
export function sessionOptions(provider: Provider, intraOpThreads: number, enableCpuMemArena = false): InferenceSession.SessionOptions {
  return {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    // One op at a time, each using every core: the graphs are chains of big convolutions.
    executionMode: 'sequential',
    intraOpNumThreads: intraOpThreads > 0 ? intraOpThreads : availableParallelism(),
    interOpNumThreads: 1,
    enableCpuMemArena,
    enableMemPattern: true,
  };
}

/**
 * Create a session on the configured provider. `auto` tries cuda, webgpu, cpu in turn and
 * keeps the first that loads; every failure is logged with its reason so a GPU that was
 * not used is never silent. With `requireGpu`, ending on CPU is an error.
 * @example const { session, provider } = await createSession('.cache/models/m.onnx', { provider: 'auto', requireGpu: false, intraOpThreads: 0 })
 */
export async function createSession(
  path: string,
  options: RuntimeOptions,
  create: CreateSession = (p, o) => ort.InferenceSession.create(p, o),
): Promise<{ session: InferenceSession; provider: Provider }> {
  if (options.requireGpu && options.provider === 'cpu') {
    throw new ModelLoadError('REQUIRE_GPU=true contradicts EXECUTION_PROVIDER=cpu');
  }
  const candidates = options.provider === 'auto' ? AUTO_ORDER.filter((p) => !options.requireGpu || GPU_PROVIDERS.has(p)) : [options.provider];
  const failures: string[] = [];
  for (const provider of candidates) {
    const started = performance.now();
    try {
      const session = await create(path, sessionOptions(provider, options.intraOpThreads, options.enableCpuMemArena ?? false));
      options.logger?.info(
        { event: EVENTS.model.provider_selected, provider, requested: options.provider, loadMs: Math.round(performance.now() - started), tried: failures },
        `execution provider in use: ${provider}`,
      );
      return { session, provider };
    } catch (err) {
      const reason = firstLine(err);
      failures.push(`${provider}: ${reason}`);
      options.logger?.warn({ event: EVENTS.model.provider_failed, provider, reason }, `execution provider ${provider} did not load`);
    }
  }
  const what = options.requireGpu ? 'REQUIRE_GPU=true but no GPU execution provider loaded' : `no execution provider loaded (${options.provider})`;
  throw new ModelLoadError(`${what}: ${failures.join('; ')}`);
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return (text.split('\n')[0] ?? text).slice(0, 300);
}
