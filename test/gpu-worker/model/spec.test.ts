import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { INSPYRENET_SWINB_1024, ISNET_GENERAL_1024, PRESETS } from '../../../gpu-worker/model/presets.js';
import { ModelSpecError, parseModelSpec } from '../../../gpu-worker/model/spec.js';

const valid = {
  id: 'my-net-512',
  input: { name: 'x', width: 512, height: 512 },
  normalize: { mean: [0, 0, 0], std: [255, 255, 255] },
  output: { name: 'y', kind: 'logits' },
};

describe('model presets', () => {
  it('ISNet: (v-128)/256, output "output" as probabilities', () => {
    assert.deepEqual(ISNET_GENERAL_1024.normalize, { mean: [128, 128, 128], std: [256, 256, 256] });
    assert.deepEqual(ISNET_GENERAL_1024.input, { name: 'input', width: 1024, height: 1024, resize: 'linear' });
    assert.equal(ISNET_GENERAL_1024.output.name, 'output');
    assert.equal(ISNET_GENERAL_1024.output.kind, 'probabilities');
  });
  it('InSPyReNet: ImageNet mean/std in pixel units at 1024x1024, min-max per image', () => {
    const { mean, std } = INSPYRENET_SWINB_1024.normalize;
    assert.ok(Math.abs(mean[0] - 123.675) < 1e-9 && Math.abs(std[2] - 57.375) < 1e-9);
    assert.equal(INSPYRENET_SWINB_1024.input.width, 1024);
    assert.equal(INSPYRENET_SWINB_1024.output.minMax, true);
  });
  it('every preset is keyed by its own id', () => {
    for (const [key, spec] of Object.entries(PRESETS)) assert.equal(spec.id, key);
  });
});

describe('parseModelSpec', () => {
  it('accepts a custom spec and defaults minMax to true and the resize kernel to sharp\'s lanczos3', () => {
    const spec = parseModelSpec(JSON.stringify(valid));
    assert.equal(spec.output.minMax, true);
    assert.equal(spec.input.resize, 'lanczos3');
    assert.equal(spec.output.kind, 'logits');
  });
  const bad: { name: string; json: string; message: RegExp }[] = [
    { name: 'not JSON', json: '{', message: /spec is not valid JSON/ },
    { name: 'missing output', json: JSON.stringify({ ...valid, output: undefined }), message: /output: / },
    { name: 'zero std', json: JSON.stringify({ ...valid, normalize: { mean: [0, 0, 0], std: [1, 0, 1] } }), message: /normalize\.std: std must be positive/ },
    { name: 'unknown resize kernel', json: JSON.stringify({ ...valid, input: { ...valid.input, resize: 'bicubic' } }), message: /input\.resize/ },
    { name: 'unknown kind', json: JSON.stringify({ ...valid, output: { name: 'y', kind: 'softmax' } }), message: /output\.kind/ },
    { name: 'unknown field', json: JSON.stringify({ ...valid, extra: 1 }), message: /extra|Unrecognized/i },
    { name: 'two channels of mean', json: JSON.stringify({ ...valid, normalize: { mean: [0, 0], std: [1, 1, 1] } }), message: /normalize\.mean/ },
  ];
  for (const c of bad) {
    it(`rejects ${c.name}, naming the field`, () => {
      assert.throws(() => parseModelSpec(c.json), (err: unknown) => err instanceof ModelSpecError && c.message.test(err.message));
    });
  }
});
