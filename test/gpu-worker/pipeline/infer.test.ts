import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { LoadedModel } from '../../../gpu-worker/model/load.js';
import { decodeImage } from '../../../gpu-worker/pipeline/decode.js';
import { inferBatch } from '../../../gpu-worker/pipeline/infer.js';
import { mapToAlpha } from '../../../gpu-worker/pipeline/postprocess.js';
import { preprocess } from '../../../gpu-worker/pipeline/preprocess.js';
import { loadTinyModel } from '../../support/tiny-model.js';

const SIZE = 48;
let model: LoadedModel;
let cat: Float32Array;
let dark: Float32Array;
let squirrel: Float32Array;

before(async () => {
  model = await loadTinyModel({ size: SIZE });
  const load = async (file: string) => decodeImage(readFileSync(`test/fixtures/photos/${file}`), { limitInputPixels: 1e8 });
  const catImage = await load('skimage-chelsea-cat.png');
  cat = await preprocess(catImage, model.spec);
  // The same photo at half brightness: a batch-wide min-max would let it shift the cat's map.
  dark = await preprocess({ ...catImage, data: Buffer.from(catImage.data.map((v) => v >> 1)) }, model.spec);
  squirrel = await preprocess(await load('opencv-squirrel_cls.jpg'), model.spec);
});
after(() => model.session.release());

const alphaOf = (m: { data: Float32Array; width: number; height: number }) => [...mapToAlpha(m, model.spec.output)];

describe('inferBatch with a dynamic-batch tiny model', () => {
  it('returns one map per image at the output size', async () => {
    const maps = await inferBatch(model.session, model.spec, model.contract, [cat, squirrel, dark]);
    assert.equal(maps.length, 3);
    for (const m of maps) assert.deepEqual([m.width, m.height, m.data.length], [SIZE, SIZE, SIZE * SIZE]);
  });
  it('an image gives the same map alone or in a batch', async () => {
    const [alone] = await inferBatch(model.session, model.spec, model.contract, [cat]);
    const [, batched] = await inferBatch(model.session, model.spec, model.contract, [squirrel, cat]);
    assert.deepEqual([...batched!.data], [...alone!.data]);
  });
  it("per-image min-max: a scaled copy in the batch does not change the other image's alpha", async () => {
    const [alone] = await inferBatch(model.session, model.spec, model.contract, [cat]);
    const [withDark, darkMap] = await inferBatch(model.session, model.spec, model.contract, [cat, dark]);
    const [withSquirrel] = await inferBatch(model.session, model.spec, model.contract, [cat, squirrel]);
    assert.deepEqual(alphaOf(withDark!), alphaOf(alone!));
    assert.deepEqual(alphaOf(withSquirrel!), alphaOf(alone!));
    // The dark copy really has a different raw map, so the equality above is not vacuous.
    assert.notDeepEqual([...darkMap!.data], [...alone!.data]);
  });
  it('refuses a tensor of the wrong size before onnxruntime sees it', async () => {
    await assert.rejects(inferBatch(model.session, model.spec, model.contract, [new Float32Array(10)]), /input tensor has 10 values, expected 6912/);
  });
  it('refuses to batch a static-batch model', async () => {
    await assert.rejects(inferBatch(model.session, model.spec, { ...model.contract, dynamicBatch: false }, [cat, cat]), /static batch of 1, got 2/);
  });
});
