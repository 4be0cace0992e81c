import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import ort from 'onnxruntime-node';
import type { InferenceSession } from 'onnxruntime-node';
import { checkContract, type SessionMetadata } from '../../../gpu-worker/model/contract.js';
import { PermanentError } from '../../../shared/errors.js';
import { buildTinyModel, tinySpec, type TinyModelOptions } from '../../support/tiny-model.js';

const sessions: InferenceSession[] = [];
after(async () => Promise.all(sessions.map((s) => s.release())));

async function session(options: TinyModelOptions): Promise<InferenceSession> {
  const s = await ort.InferenceSession.create(buildTinyModel(options));
  sessions.push(s);
  return s;
}

describe('checkContract against real tiny graphs', () => {
  it('a dynamic-batch model matching its spec passes', async () => {
    const c = checkContract(await session({ size: 32 }), tinySpec({ size: 32 }));
    assert.deepEqual(c, { dynamicBatch: true, outputWidth: 32, outputHeight: 32, outputRank: 4 });
  });
  it('a static batch of 1 passes and reports no batching', async () => {
    const c = checkContract(await session({ size: 32, dynamicBatch: false }), tinySpec({ size: 32 }));
    assert.equal(c.dynamicBatch, false);
  });

  const mismatches: { name: string; model: TinyModelOptions; spec?: Parameters<typeof tinySpec>[1]; message: RegExp }[] = [
    { name: 'input name', model: { size: 32, inputName: 'image' }, message: /input "input" not found \(the graph's inputs: image\)/ },
    { name: 'output name', model: { size: 32, outputName: 'mask' }, message: /output "output" not found \(the graph's outputs: mask\)/ },
    { name: 'input element type', model: { size: 32, inputElementType: 'float64' }, message: /input "input" has element type float64, expected float32/ },
    { name: 'input channels', model: { size: 32, inputChannels: 4 }, message: /input "input" channels is 4, expected 3/ },
    { name: 'input size', model: { size: 32 }, spec: { input: { name: 'input', width: 64, height: 64 } }, message: /height is 32, expected 64.*width is 32, expected 64/ },
    { name: 'output channels', model: { size: 32, outputChannels: 2 }, message: /output "output" has 2 channels, expected 1/ },
  ];
  for (const m of mismatches) {
    it(`names a mismatched ${m.name} in a model_contract startup error`, async () => {
      const s = await session(m.model);
      assert.throws(
        () => checkContract(s, tinySpec(m.model, { ...m.spec, input: m.spec?.input ?? { name: 'input', width: 32, height: 32 }, output: { name: 'output', kind: 'probabilities' } })),
        (err: unknown) => err instanceof PermanentError && err.code === 'model_contract' && m.message.test(err.message) && /model "tiny-test"/.test(err.message),
      );
    });
  }
});

describe('checkContract on metadata alone', () => {
  const meta = (input: number[] | (number | string)[], output: (number | string)[]): SessionMetadata => ({
    inputNames: ['input'],
    outputNames: ['output'],
    inputMetadata: [{ name: 'input', isTensor: true, type: 'float32', shape: input }],
    outputMetadata: [{ name: 'output', isTensor: true, type: 'float32', shape: output }],
  });
  const spec = tinySpec({ size: 16 });
  const cases: { name: string; metadata: SessionMetadata; ok?: Partial<ReturnType<typeof checkContract>>; message?: RegExp }[] = [
    { name: 'rank-3 output [N,H,W] is accepted', metadata: meta(['N', 3, 16, 16], ['N', 16, 16]), ok: { outputRank: 3, dynamicBatch: true } },
    { name: 'symbolic spatial dims are accepted', metadata: meta(['batch', 3, 'h', 'w'], ['batch', 1, 'h', 'w']), ok: { outputWidth: 16, dynamicBatch: true } },
    { name: 'an output smaller than the input is used as the map size', metadata: meta([1, 3, 16, 16], [1, 1, 8, 8]), ok: { outputWidth: 8, outputHeight: 8 } },
    { name: 'rank-3 input', metadata: meta([3, 16, 16], [1, 1, 16, 16]), message: /rank 3\), expected rank 4/ },
    { name: 'fixed batch of 4', metadata: meta([4, 3, 16, 16], [4, 1, 16, 16]), message: /fixed batch of 4/ },
    { name: 'rank-2 output', metadata: meta([1, 3, 16, 16], [16, 16]), message: /expected \[N,1,H,W\] or \[N,H,W\]/ },
    { name: 'static output batch on a dynamic input', metadata: meta(['N', 3, 16, 16], [1, 1, 16, 16]), message: /does not follow the input/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      if (c.ok) {
        const got = checkContract(c.metadata, spec);
        for (const [k, v] of Object.entries(c.ok)) assert.equal(got[k as keyof typeof got], v);
      } else {
        assert.throws(() => checkContract(c.metadata, spec), (err: unknown) => err instanceof PermanentError && c.message!.test(err.message));
      }
    });
  }
});
