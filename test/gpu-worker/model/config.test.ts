import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { imagePipelineOptions } from '../../../gpu-worker/config.js';
import { ModelConfig, refineModelConfig } from '../../../gpu-worker/model/config.js';
import { ConfigError, parseConfig } from '../../../shared/config.js';

const Refined = ModelConfig.superRefine(refineModelConfig);

describe('ModelConfig', () => {
  it('has safe defaults: embedded ISNet, auto provider, small batches', () => {
    const cfg = parseConfig(ModelConfig, {});
    assert.deepEqual(
      [cfg.MODEL_PRESET, cfg.MODEL_URI, cfg.MODEL_CACHE_DIR, cfg.EXECUTION_PROVIDER, cfg.REQUIRE_GPU, cfg.INTRA_OP_THREADS, cfg.MAX_BATCH_SIZE, cfg.BATCH_WAIT_MS, cfg.REFINE_FOREGROUND, cfg.CPU_MEM_ARENA, cfg.REQUIRE_BATCHING],
      ['isnet-general-1024', undefined, '.cache/models', 'auto', false, 0, 4, 10, true, false, false],
    );
  });
  const cases: { name: string; env: Record<string, string>; expect: Partial<ModelConfig> | RegExp }[] = [
    { name: 'production on a GPU', env: { MODEL_PRESET: 'inspyrenet-swinb-1024', MODEL_URI: 'gs://m/i.onnx', MODEL_SHA256: 'AB'.repeat(32), EXECUTION_PROVIDER: 'cuda', REQUIRE_GPU: 'true' }, expect: { MODEL_SHA256: 'ab'.repeat(32), REQUIRE_GPU: true, EXECUTION_PROVIDER: 'cuda' } },
    { name: 'numbers are coerced', env: { MAX_BATCH_SIZE: '8', BATCH_WAIT_MS: '0', INTRA_OP_THREADS: '2' }, expect: { MAX_BATCH_SIZE: 8, BATCH_WAIT_MS: 0, INTRA_OP_THREADS: 2 } },
    { name: 'unknown provider', env: { EXECUTION_PROVIDER: 'tpu' }, expect: /EXECUTION_PROVIDER/ },
    { name: 'unknown preset', env: { MODEL_PRESET: 'u2net' }, expect: /MODEL_PRESET/ },
    { name: 'short digest', env: { MODEL_SHA256: 'abc' }, expect: /MODEL_SHA256: expected 64 hex digits/ },
    { name: 'batch of 0', env: { MAX_BATCH_SIZE: '0' }, expect: /MAX_BATCH_SIZE/ },
    { name: 'batching required', env: { REQUIRE_BATCHING: 'true' }, expect: { REQUIRE_BATCHING: true } },
    { name: 'REQUIRE_BATCHING is a boolean', env: { REQUIRE_BATCHING: 'always' }, expect: /REQUIRE_BATCHING/ },
    { name: 'gs:// without a digest', env: { MODEL_URI: 'gs://m/i.onnx' }, expect: /MODEL_SHA256: required when MODEL_URI is a gs:\/\/ URI/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      if (c.expect instanceof RegExp) {
        const re = c.expect;
        assert.throws(() => parseConfig(Refined as unknown as typeof ModelConfig, c.env), (err: unknown) => err instanceof ConfigError && re.test(err.message));
      } else {
        const cfg = parseConfig(Refined as unknown as typeof ModelConfig, c.env);
        for (const [k, v] of Object.entries(c.expect)) assert.equal(cfg[k as keyof ModelConfig], v);
      }
    });
  }
});

describe('imagePipelineOptions: the variables, mapped once to what the pipeline and the model loader take', () => {
  it('maps every model and pipeline setting', () => {
    const cfg = parseConfig(ModelConfig, {
      MODEL_PRESET: 'inspyrenet-swinb-1024',
      MODEL_SPEC: 'spec.json',
      MODEL_URI: 'gs://m/i.onnx',
      MODEL_SHA256: 'AB'.repeat(32),
      MODEL_CACHE_DIR: '/models',
      EXECUTION_PROVIDER: 'cuda',
      REQUIRE_GPU: 'true',
      INTRA_OP_THREADS: '2',
      CPU_MEM_ARENA: 'true',
      MAX_BATCH_SIZE: '8',
      REQUIRE_BATCHING: 'true',
      BATCH_WAIT_MS: '5',
      RENDER_CONCURRENCY: '3',
      REFINE_FOREGROUND: 'false',
      MAX_INPUT_PIXELS: '1000',
    });
    assert.deepEqual(imagePipelineOptions(cfg), {
      model: { preset: 'inspyrenet-swinb-1024', specFile: 'spec.json', uri: 'gs://m/i.onnx', sha256: 'ab'.repeat(32), cacheDir: '/models', provider: 'cuda', requireGpu: true, intraOpThreads: 2, cpuMemArena: true, maxBatchSize: 8, requireBatching: true },
      maxBatchSize: 8,
      batchWaitMs: 5,
      renderConcurrency: 3,
      refine: false,
      limitInputPixels: 1000,
    });
  });
  it('leaves what is unset undefined, and survives a structured clone (it crosses to the pipeline thread)', () => {
    const options = imagePipelineOptions(parseConfig(ModelConfig, {}));
    assert.deepEqual([options.model.uri, options.model.sha256, options.model.specFile], [undefined, undefined, undefined]);
    assert.deepEqual(structuredClone(options), options);
  });
});
