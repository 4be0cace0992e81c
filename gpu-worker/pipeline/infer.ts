import ort from 'onnxruntime-node';
import type { InferenceSession } from 'onnxruntime-node';
import type { ModelContract } from '../model/contract.js';
import type { ModelSpec } from '../model/spec.js';

/** One image's saliency map at the model's output size (raw values: logits or probabilities). */
export interface SaliencyMap {
  data: Float32Array;
  width: number;
  height: number;
}

export type InferSession = Pick<InferenceSession, 'run'>;

/**
 * Run one inference over several images (CHW tensors of the model's input size) and split
 * the output per image. Only the spec's output is fetched: ISNet's graph has eleven
 * outputs and copying the other ten back would cost ~40 MB per image.
 * @example const [map] = await inferBatch(session, spec, contract, [chw])
 */
export async function inferBatch(session: InferSession, spec: ModelSpec, contract: ModelContract, inputs: readonly Float32Array[]): Promise<SaliencyMap[]> {
  const { width, height } = spec.input;
  const per = 3 * width * height;
  const n = inputs.length;
  if (n === 0) return [];
  if (n > 1 && !contract.dynamicBatch) throw new Error(`model ${spec.id} has a static batch of 1, got ${n} images`);
  for (const t of inputs) if (t.length !== per) throw new Error(`input tensor has ${t.length} values, expected ${per} (3x${height}x${width})`);
  let batch: Float32Array;
  if (n === 1) batch = inputs[0]!;
  else {
    batch = new Float32Array(per * n);
    inputs.forEach((t, i) => batch.set(t, i * per));
  }
  const feeds = { [spec.input.name]: new ort.Tensor('float32', batch, [n, 3, height, width]) };
  const results = await session.run(feeds, [spec.output.name]);
  const out = results[spec.output.name];
  if (!out || out.type !== 'float32') throw new Error(`model ${spec.id} returned no float32 "${spec.output.name}"`);
  const dims = out.dims;
  const h = dims[dims.length - 2];
  const w = dims[dims.length - 1];
  const plane = (h ?? 0) * (w ?? 0);
  if (dims[0] !== n || h === undefined || w === undefined || out.size !== n * plane) {
    throw new Error(`model ${spec.id} returned "${spec.output.name}" with dims [${dims.join(',')}], expected [${n},1,H,W]`);
  }
  const data = out.data as Float32Array;
  // Views, not copies: each image's postprocess reads only its own plane.
  return Array.from({ length: n }, (_, i) => ({ data: data.subarray(i * plane, (i + 1) * plane), width: w, height: h }));
}
