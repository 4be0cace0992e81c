import { readFile, stat } from 'node:fs/promises';
import type { InferenceSession } from 'onnxruntime-node';
import type { ModelConfig } from './config.js';
import { checkContract, type ModelContract } from './contract.js';
import { EMBEDDED_MODEL, embeddedModelPath } from './embedded.js';
import { PRESETS } from './presets.js';
import { provisionModel, type StorageLike } from './provision.js';
import { createSession, ModelLoadError, type CreateSession, type ModelLogger, type Provider } from './runtime.js';
import { parseModelSpec, type ModelSpec } from './spec.js';

/** A verified, contract-checked session, ready to serve. */
export interface LoadedModel {
  spec: ModelSpec;
  session: InferenceSession;
  provider: Provider;
  sha256: string;
  path: string;
  contract: ModelContract;
}

export interface LoadModelDeps {
  storage?: StorageLike;
  logger?: ModelLogger;
  createSession?: CreateSession;
}

/** The settings `loadModel` reads (a subset of ModelConfig, so tests can pass literals). */
export type LoadModelConfig = Pick<
  ModelConfig,
  'MODEL_PRESET' | 'MODEL_SPEC' | 'MODEL_URI' | 'MODEL_SHA256' | 'MODEL_CACHE_DIR' | 'EXECUTION_PROVIDER' | 'REQUIRE_GPU' | 'INTRA_OP_THREADS'
> & Partial<Pick<ModelConfig, 'CPU_MEM_ARENA'>>;

/**
 * Resolve the spec, provision and verify the file, create the session on the configured
 * provider and check the graph against the spec. Any failure here is a startup error
 * with a message naming the problem (wrong digest, missing tensor, GPU absent...).
 * @example const model = await loadModel(parseConfig(ModelConfig, process.env), { storage: new Storage(), logger })
 */
export async function loadModel(config: LoadModelConfig, deps: LoadModelDeps = {}): Promise<LoadedModel> {
  const spec = config.MODEL_SPEC ? parseModelSpec(await readFile(config.MODEL_SPEC, 'utf8'), config.MODEL_SPEC) : PRESETS[config.MODEL_PRESET];
  let uri = config.MODEL_URI;
  let sha256 = config.MODEL_SHA256;
  if (uri === undefined) {
    if (spec.id !== EMBEDDED_MODEL.presetId) {
      throw new ModelLoadError(`MODEL_URI is required for model "${spec.id}" (only ${EMBEDDED_MODEL.presetId} has embedded weights)`);
    }
    uri = embeddedModelPath(config.MODEL_CACHE_DIR);
    sha256 ??= EMBEDDED_MODEL.sha256;
    const present = await stat(uri).then(
      () => true,
      () => false,
    );
    if (!present) throw new ModelLoadError(`the embedded model is not at ${uri}: run \`make model\` (or set MODEL_URI)`);
  }
  const file = await provisionModel({ uri, cacheDir: config.MODEL_CACHE_DIR, ...(sha256 ? { sha256 } : {}), ...(deps.storage ? { storage: deps.storage } : {}) });
  if (!sha256) deps.logger?.warn({ event: 'model.unverified', path: file.path, sha256: file.sha256 }, 'model file has no expected MODEL_SHA256; pin this digest');
  const { session, provider } = await createSession(
    file.path,
    {
      provider: config.EXECUTION_PROVIDER,
      requireGpu: config.REQUIRE_GPU,
      intraOpThreads: config.INTRA_OP_THREADS,
      enableCpuMemArena: config.CPU_MEM_ARENA ?? false,
      ...(deps.logger ? { logger: deps.logger } : {}),
    },
    deps.createSession,
  );
  let contract: ModelContract;
  try {
    contract = checkContract(session, spec);
  } catch (err) {
    await session.release();
    throw err;
  }
  deps.logger?.info(
    { event: 'model.loaded', model: spec.id, provider, sha256: file.sha256, downloaded: !file.cached, dynamicBatch: contract.dynamicBatch, license: spec.license },
    `model ${spec.id} ready on ${provider}${spec.license ? ` (weights licence: ${spec.license})` : ''}`,
  );
  return { spec, session, provider, sha256: file.sha256, path: file.path, contract };
}
