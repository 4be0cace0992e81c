import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { sha256File } from '../../../gpu-worker/model/checksum.js';
import { loadModel, type ModelOptions } from '../../../gpu-worker/model/load.js';
import { ModelLoadError } from '../../../gpu-worker/model/runtime.js';
import { PermanentError } from '../../../shared/errors.js';
import { buildTinyModel, tinySpec, writeModelFile } from '../../support/tiny-model.js';
import { recordingLogger } from './support.js';

const base = (over: Partial<ModelOptions>): ModelOptions => ({
  preset: 'isnet-general-1024',
  cacheDir: '/nonexistent-cache',
  provider: 'cpu',
  requireGpu: false,
  intraOpThreads: 1,
  ...over,
});

async function specFile(json: unknown): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), 'spec-')), 'spec.json');
  await writeFile(path, JSON.stringify(json));
  return path;
}

describe('loadModel', () => {
  it('a custom JSON spec and a verified file give a ready, contract-checked model', async () => {
    const path = await writeModelFile(buildTinyModel({ size: 16, inputName: 'image', outputName: 'alpha' }));
    const spec = await specFile(tinySpec({ size: 16, inputName: 'image', outputName: 'alpha' }));
    const logger = recordingLogger();
    const model = await loadModel(base({ specFile: spec, uri: path, sha256: await sha256File(path) }), { logger });
    assert.equal(model.spec.id, 'tiny-test');
    assert.equal(model.provider, 'cpu');
    assert.equal(model.contract.dynamicBatch, true);
    assert.ok(logger.lines.some((l) => l.obj['event'] === 'model.loaded' && l.obj['provider'] === 'cpu'));
    await model.session.release();
  });
  it('a model whose inputs do not match its preset stops startup with a message naming them', async () => {
    const path = await writeModelFile(buildTinyModel({ size: 16, inputName: 'x' }));
    await assert.rejects(
      loadModel(base({ preset: 'inspyrenet-swinb-1024', uri: path })),
      (err: unknown) =>
        err instanceof PermanentError &&
        err.code === 'model_contract' &&
        /model "inspyrenet-swinb-1024" does not match its contract: input "input" not found \(the graph's inputs: x\)/.test(err.message),
    );
  });
  it('a wrong checksum stops startup naming expected and actual', async () => {
    const path = await writeModelFile(buildTinyModel({ size: 16 }));
    const actual = await sha256File(path);
    await assert.rejects(
      loadModel(base({ uri: path, sha256: '0'.repeat(64) })),
      (err: unknown) => err instanceof PermanentError && err.code === 'model_checksum' && err.message.includes(`expected sha256 ${'0'.repeat(64)}, got ${actual}`),
    );
  });
  it('a file without MODEL_SHA256 loads but warns with its digest', async () => {
    const path = await writeModelFile(buildTinyModel({ size: 1024 }));
    const logger = recordingLogger();
    const model = await loadModel(base({ uri: path }), { logger });
    assert.ok(logger.lines.some((l) => l.level === 'warn' && l.obj['event'] === 'model.unverified' && l.obj['sha256'] === model.sha256));
    await model.session.release();
  });
  it('the embedded default missing from the cache says to run make model', async () => {
    await assert.rejects(loadModel(base({})), (err: unknown) => err instanceof ModelLoadError && /run `make model`/.test(err.message));
  });
  it('presets without embedded weights need MODEL_URI', async () => {
    await assert.rejects(loadModel(base({ preset: 'inspyrenet-swinb-1024' })), /MODEL_URI is required for model "inspyrenet-swinb-1024"/);
  });
  it('an invalid spec file is reported with its path', async () => {
    const spec = await specFile({ id: 'x' });
    await assert.rejects(loadModel(base({ specFile: spec, uri: '/x.onnx' })), (err: unknown) => err instanceof Error && err.message.startsWith(`${spec} is invalid`));
    assert.ok(dirname(spec));
  });
});
