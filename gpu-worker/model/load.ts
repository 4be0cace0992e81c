import { readFile, stat } from 'node:fs/promises';
import type { InferenceSession } from 'onnxruntime-node';
import { decideBatching } from './batch-check.js';
import type { BatchingState } from './batching.js';
import { checkContract, type ModelContract } from './contract.js';
import { EMBEDDED_MODEL, embeddedModelPath } from './embedded.js';
import { PRESETS, type PresetId } from './presets.js';
import { provisionModel, type StorageLike } from './provision.js';
import { createSession, ModelLoadError, type CreateSession, type ModelLogger, type Provider, type ProviderChoice } from './runtime.js';
import { parseModelSpec, type ModelSpec } from './spec.js';
import { EVENTS } from '../log-events.js';

/** A verified, contract-checked session, ready to serve. */
export interface LoadedModel {
  spec: ModelSpec;
  session: InferenceSession;
  provider: Provider;
  sha256: string;
  path: string;
  contract: ModelContract;
  /**
   * How many images a run may take, decided by the batch-consistency check (batch-check.ts).
   * Absent only on models built by hand (tests), which the pipeline batches as their contract says.
   */
  batching?: BatchingState;
}

export interface LoadModelDeps {
  storage?: StorageLike;
  logger?: ModelLogger;
  createSession?: CreateSession;
}

/**
 * Which model to load and how (the entry points map them from MODEL_* and friends,
 * gpu-worker/config.ts's `modelOptions`).
 */
export interface ModelOptions {
  /** The built-in contract, unless `specFile` describes the model. */
  preset: PresetId;
  /** A JSON file describing a custom model (spec.ts); overrides `preset`. */
  specFile?: string | undefined;
  /** A local path or gs://bucket/object; absent: the embedded default weights. */
  uri?: string | undefined;
  /** Expected sha256 (hex) of the file; required for gs://. */
  sha256?: string | undefined;
  /** Where downloads and the embedded default live. */
  cacheDir: string;
  provider: ProviderChoice;
  requireGpu: boolean;
  /** 0 means one per core. */
  intraOpThreads: number;
  /** onnxruntime's CPU memory arena (default off: ~1 GB more resident with ISNet). */
  cpuMemArena?: boolean | undefined;
  /**
   * Images per run the pipeline will ask for (MAX_BATCH_SIZE). Above 1 with a dynamic batch,
   * the batch-consistency check runs before the model is returned. Absent: 1 (unbatched).
   */
  maxBatchSize?: number | undefined;
  /** A batch that fails the check stops startup (REQUIRE_BATCHING) instead of turning batching off. */
  requireBatching?: boolean | undefined;
}

/**
 * Resolve the spec, provision and verify the file, create the session on the configured
 * provider and check the graph against the spec. Any failure here is a startup error
 * with a message naming the problem (wrong digest, missing tensor, GPU absent...).
 * @example const model = await loadModel({ preset: 'isnet-general-1024', cacheDir: '.cache/models', provider: 'cpu', requireGpu: false, intraOpThreads: 0 }, { logger })
 */
export async function loadModel(options: ModelOptions, deps: LoadModelDeps = {}): Promise<LoadedModel> {
  const spec = options.specFile ? parseModelSpec(await readFile(options.specFile, 'utf8'), options.specFile) : PRESETS[options.preset];
  let uri = options.uri;
  let sha256 = options.sha256;
  if (uri === undefined) {
    if (spec.id !== EMBEDDED_MODEL.presetId) {
      throw new ModelLoadError(`MODEL_URI is required for model "${spec.id}" (only ${EMBEDDED_MODEL.presetId} has embedded weights)`);
    }
    uri = embeddedModelPath(options.cacheDir);
    sha256 ??= EMBEDDED_MODEL.sha256;
    const present = await stat(uri).then(
      () => true,
      () => false,
    );
    if (!present) throw new ModelLoadError(`the embedded model is not at ${uri}: run \`make model\` (or set MODEL_URI)`);
  }
  const file = await provisionModel({ uri, cacheDir: options.cacheDir, ...(sha256 ? { sha256 } : {}), ...(deps.storage ? { storage: deps.storage } : {}) });
  if (!sha256) deps.logger?.warn({ event: EVENTS.model.unverified, path: file.path, sha256: file.sha256 }, 'model file has no expected MODEL_SHA256; pin this digest');
  const { session, provider } = await createSession(
    file.path,
    {
      provider: options.provider,
      requireGpu: options.requireGpu,
      intraOpThreads: options.intraOpThreads,
      enableCpuMemArena: options.cpuMemArena ?? false,
      ...(deps.logger ? { logger: deps.logger } : {}),
    },
    deps.createSession,
  );
  let contract: ModelContract;
  let batching: BatchingState;
  try {
    contract = checkContract(session, spec);
    // Before the model serves anything (so before /readyz), whatever WARMUP_BEFORE_READY says:
    // a job batched ahead of the check would be the very damage it is there to prevent.
    batching = await decideBatching(session, spec, contract, { maxBatchSize: options.maxBatchSize ?? 1, requireBatching: options.requireBatching ?? false, logger: deps.logger });
  } catch (err) {
    await session.release();
    throw err;
  }
  deps.logger?.info(
    {
      event: EVENTS.model.loaded,
      model: spec.id,
      provider,
      sha256: file.sha256,
      downloaded: !file.cached,
      dynamicBatch: contract.dynamicBatch,
      batchCheck: batching.check,
      maxBatchSize: batching.maxBatchSize,
      license: spec.license,
    },
    `model ${spec.id} ready on ${provider}${spec.license ? ` (weights licence: ${spec.license})` : ''}`,
  );
  return { spec, session, provider, sha256: file.sha256, path: file.path, contract, batching };
}
