import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { InferenceSession } from 'onnxruntime-node';
import { createSession, ModelLoadError, sessionOptions, type CreateSession, type Provider } from '../../../gpu-worker/model/runtime.js';
import { buildTinyModel, writeModelFile } from '../../support/tiny-model.js';
import { recordingLogger } from './support.js';

/** A session factory where only the listed providers load. */
function fakeCreate(working: Provider[]): CreateSession & { tried: string[] } {
  const tried: string[] = [];
  const create = async (_path: string, options: InferenceSession.SessionOptions): Promise<InferenceSession> => {
    const provider = String(options.executionProviders?.[0]);
    tried.push(provider);
    if (!working.includes(provider as Provider)) throw new Error(`${provider} failed to load\nsecond line`);
    return { release: async () => {} } as unknown as InferenceSession;
  };
  return Object.assign(create, { tried });
}

describe('createSession provider choice', () => {
  const cases: { name: string; provider: 'auto' | Provider; requireGpu: boolean; working: Provider[]; chosen?: Provider; tried: string[]; error?: RegExp }[] = [
    { name: 'auto takes CUDA when it loads', provider: 'auto', requireGpu: false, working: ['cuda', 'webgpu', 'cpu'], chosen: 'cuda', tried: ['cuda'] },
    { name: 'auto falls back to WebGPU', provider: 'auto', requireGpu: false, working: ['webgpu', 'cpu'], chosen: 'webgpu', tried: ['cuda', 'webgpu'] },
    { name: 'auto ends on CPU', provider: 'auto', requireGpu: false, working: ['cpu'], chosen: 'cpu', tried: ['cuda', 'webgpu', 'cpu'] },
    { name: 'auto with REQUIRE_GPU never tries CPU', provider: 'auto', requireGpu: true, working: ['cpu'], tried: ['cuda', 'webgpu'], error: /REQUIRE_GPU=true but no GPU execution provider loaded: cuda: cuda failed to load; webgpu: webgpu failed to load/ },
    { name: 'an explicit provider that fails is an error, not a fallback', provider: 'cuda', requireGpu: false, working: ['cpu'], tried: ['cuda'], error: /no execution provider loaded \(cuda\): cuda: cuda failed to load/ },
    { name: 'REQUIRE_GPU with EXECUTION_PROVIDER=cpu is refused outright', provider: 'cpu', requireGpu: true, working: ['cpu'], tried: [], error: /contradicts/ },
    { name: 'explicit webgpu', provider: 'webgpu', requireGpu: true, working: ['webgpu'], chosen: 'webgpu', tried: ['webgpu'] },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const create = fakeCreate(c.working);
      const logger = recordingLogger();
      const attempt = createSession('/m.onnx', { provider: c.provider, requireGpu: c.requireGpu, intraOpThreads: 2, logger }, create);
      if (c.error) {
        await assert.rejects(attempt, (err: unknown) => err instanceof ModelLoadError && c.error!.test(err.message));
      } else {
        const { provider } = await attempt;
        assert.equal(provider, c.chosen);
        const selected = logger.lines.find((l) => l.obj['event'] === 'model.provider_selected');
        assert.equal(selected?.obj['provider'], c.chosen);
      }
      assert.deepEqual(create.tried, c.tried);
      assert.equal(logger.lines.filter((l) => l.obj['event'] === 'model.provider_failed').length, c.tried.filter((p) => !c.working.includes(p as Provider)).length);
    });
  }
});

describe('sessionOptions', () => {
  it('optimises fully, sizes threads, arena only when asked (RSS)', () => {
    const o = sessionOptions('cpu', 3);
    assert.deepEqual([o.graphOptimizationLevel, o.intraOpNumThreads, o.enableCpuMemArena, o.executionProviders], ['all', 3, false, ['cpu']]);
    assert.ok((sessionOptions('cpu', 0).intraOpNumThreads ?? 0) >= 1);
    assert.equal(sessionOptions('cpu', 1, true).enableCpuMemArena, true);
  });
});

describe('createSession with onnxruntime', () => {
  it('loads a tiny model on CPU', async () => {
    const path = await writeModelFile(buildTinyModel({ size: 8 }));
    const { session, provider } = await createSession(path, { provider: 'cpu', requireGpu: false, intraOpThreads: 1 });
    assert.equal(provider, 'cpu');
    assert.deepEqual(session.inputNames, ['input']);
    await session.release();
  });
});
