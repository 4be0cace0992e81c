// ONNX models built in code for tests and benchmarks: no weights to download, contracts
// (names, ranks, batch dims, element types) chosen per test.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { checkContract } from '../../gpu-worker/model/contract.js';
import { sha256File } from '../../gpu-worker/model/checksum.js';
import type { LoadedModel } from '../../gpu-worker/model/load.js';
import { createSession } from '../../gpu-worker/model/runtime.js';
import { ModelSpec, type ModelSpecInput } from '../../gpu-worker/model/spec.js';

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const DOUBLE = onnx.TensorProto.DataType.DOUBLE;
const INT64 = onnx.TensorProto.DataType.INT64;

export interface TinyModelOptions {
  /** Square input size S: input [N,3,S,S], output [N,1,S,S]. Default 64. */
  size?: number;
  inputName?: string;
  outputName?: string;
  /** Symbolic batch dim `N` (default) or a fixed batch of 1. */
  dynamicBatch?: boolean;
  /** `logits` leaves out the final Sigmoid. Default `probabilities`. */
  outputKind?: 'probabilities' | 'logits';
  /** Declare the input as float64 (a contract mismatch). */
  inputElementType?: 'float32' | 'float64';
  /** Output rank 4 [N,1,S,S] (default) or 2 channels [N,2,S,S] (a contract mismatch). */
  outputChannels?: 1 | 2;
  /** Declared input channels (3 by default; 4 makes a contract mismatch). */
  inputChannels?: number;
  /** 1x1 convolution weights over (R, G, B) and a bias: the "saliency" is a brightness detector. */
  weights?: [number, number, number];
  bias?: number;
  /**
   * Swin's `window_reverse` as traced at batch 1 (issue 18): behind the dynamic input the map
   * goes through a Reshape to the constant [1,S,S,-1] and back to [-1,1,S,S]. A batch of one
   * is unchanged; a batch of two runs without an error, but its images' pixels are
   * interleaved, so each output mixes both images.
   */
  batchOfOneReshape?: boolean;
}

const dims = (batch: number | 'N', ...rest: number[]): onnxProto.onnx.ITensorShapeProto => ({
  dim: [typeof batch === 'string' ? { dimParam: batch } : { dimValue: batch }, ...rest.map((d) => ({ dimValue: d }))],
});
const valueInfo = (name: string, elemType: number, shape: onnxProto.onnx.ITensorShapeProto): onnxProto.onnx.IValueInfoProto => ({
  name,
  type: { tensorType: { elemType, shape } },
});
const floats = (name: string, shape: number[], values: ArrayLike<number>): onnxProto.onnx.ITensorProto => ({ name, dims: shape, dataType: FLOAT, floatData: Array.from(values) });
const int64s = (name: string, values: number[]): onnxProto.onnx.ITensorProto => ({ name, dims: [values.length], dataType: INT64, int64Data: values });

function encodeModel(graph: onnxProto.onnx.IGraphProto): Uint8Array {
  return onnx.ModelProto.encode({ irVersion: 8, producerName: 'petcutout-tests', opsetImport: [{ domain: '', version: 13 }], graph }).finish();
}

/**
 * A tiny segmentation model: a 1x1 convolution over RGB plus a bias, then a sigmoid.
 * Bright pixels become foreground, so masks depend on content and batching bugs show.
 * @example const bytes = buildTinyModel({ size: 32, dynamicBatch: true })
 */
export function buildTinyModel(options: TinyModelOptions = {}): Uint8Array {
  const s = options.size ?? 64;
  const inName = options.inputName ?? 'input';
  const outName = options.outputName ?? 'output';
  const batch = options.dynamicBatch === false ? 1 : 'N';
  const elem = options.inputElementType === 'float64' ? DOUBLE : FLOAT;
  const channelsIn = options.inputChannels ?? 3;
  const channelsOut = options.outputChannels ?? 1;
  const w = options.weights ?? [4, 4, 4];
  const weights: number[] = [];
  for (let o = 0; o < channelsOut; o++) for (let c = 0; c < channelsIn; c++) weights.push(w[c % 3]! * (o + 1));
  const logits = options.outputKind === 'logits';
  const nodes: onnxProto.onnx.INodeProto[] = [];
  let x = inName;
  if (elem === DOUBLE) {
    // CPU has no float64 Conv: cast first, so only the declared input type is "wrong".
    nodes.push({ opType: 'Cast', input: [inName], output: ['xf'], attribute: [{ name: 'to', i: FLOAT, type: onnx.AttributeProto.AttributeType.INT }] });
    x = 'xf';
  }
  const defect = options.batchOfOneReshape === true;
  const conv = defect ? 'conv' : logits ? outName : 'z';
  nodes.push({ opType: 'Conv', input: [x, 'w', 'b'], output: [conv], attribute: [{ name: 'kernel_shape', ints: [1, 1], type: onnx.AttributeProto.AttributeType.INTS }] });
  const initializer = [floats('w', [channelsOut, channelsIn, 1, 1], weights), floats('b', [channelsOut], new Array<number>(channelsOut).fill(options.bias ?? 0))];
  if (defect) {
    // view(1, S, S, -1) with the batch frozen to 1 (the -1 swallows it), permute, view(-1, C, S, S).
    initializer.push(int64s('frozen_shape', [1, s, s, -1]), int64s('batch_shape', [-1, channelsOut, s, s]));
    nodes.push({ opType: 'Reshape', input: ['conv', 'frozen_shape'], output: ['frozen'] });
    nodes.push({ opType: 'Transpose', input: ['frozen'], output: ['permuted'], attribute: [{ name: 'perm', ints: [0, 3, 1, 2], type: onnx.AttributeProto.AttributeType.INTS }] });
    nodes.push({ opType: 'Reshape', input: ['permuted', 'batch_shape'], output: [logits ? outName : 'z'] });
  }
  if (!logits) nodes.push({ opType: 'Sigmoid', input: ['z'], output: [outName] });
  return encodeModel({
    name: 'tiny',
    node: nodes,
    initializer,
    input: [valueInfo(inName, elem, dims(batch, channelsIn, s, s))],
    output: [valueInfo(outName, FLOAT, dims(batch, channelsOut, s, s))],
  });
}

/**
 * The spec matching `buildTinyModel(options)` (ISNet-style normalisation by default).
 * @example const spec = tinySpec({ size: 32 })
 */
export function tinySpec(options: TinyModelOptions = {}, overrides: Partial<ModelSpecInput> = {}): ModelSpec {
  const s = options.size ?? 64;
  return ModelSpec.parse({
    id: 'tiny-test',
    input: { name: options.inputName ?? 'input', width: s, height: s },
    normalize: { mean: [128, 128, 128], std: [256, 256, 256] },
    output: { name: options.outputName ?? 'output', kind: options.outputKind ?? 'probabilities', minMax: true },
    ...overrides,
  });
}

/**
 * Write a model's bytes into a fresh temp directory and return the file path.
 * @example const path = await writeModelFile(buildTinyModel())
 */
export async function writeModelFile(bytes: Uint8Array, name = 'model.onnx'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tiny-model-'));
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

export interface HeavyModelOptions {
  size?: number;
  /** Width of the hidden 3x3 convolutions. */
  channels?: number;
  /** Hidden 3x3 conv + ReLU layers. */
  layers?: number;
  dynamicBatch?: boolean;
  inputName?: string;
  outputName?: string;
}

/** GFLOP per image of `buildHeavyModel(options)` (2 per multiply-add). */
export function heavyModelGflops(options: HeavyModelOptions = {}): number {
  const s = options.size ?? 1024;
  const c = options.channels ?? 32;
  const l = options.layers ?? 4;
  return (2 * s * s * (3 * c * 9 + l * c * c * 9 + c)) / 1e9;
}

/**
 * A synthetic model with the ISNet/InSPyReNet I/O contract and adjustable cost: a 3x3
 * conv into `channels`, `layers` hidden 3x3 conv+ReLU, a 1x1 conv to one channel, sigmoid.
 * Weights are deterministic so runs are comparable. InSPyReNet-heavy (~1.5 TFLOP at 1024):
 * `{ channels: 96, layers: 18 }`.
 * @example const bytes = buildHeavyModel({ size: 1024, channels: 32, layers: 4 })
 */
export function buildHeavyModel(options: HeavyModelOptions = {}): Uint8Array {
  const s = options.size ?? 1024;
  const c = options.channels ?? 32;
  const l = options.layers ?? 4;
  const inName = options.inputName ?? 'input';
  const outName = options.outputName ?? 'output';
  let seed = 12345;
  // A fixed LCG: the same weights every run, no dependency.
  const rand = (): number => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32) * 2 - 1;
  const conv = (name: string, cin: number, cout: number, k: number): onnxProto.onnx.ITensorProto[] => {
    const scale = Math.sqrt(2 / (cin * k * k));
    return [floats(`${name}_w`, [cout, cin, k, k], Array.from({ length: cout * cin * k * k }, () => rand() * scale)), floats(`${name}_b`, [cout], new Array<number>(cout).fill(0))];
  };
  const attrs = (k: number): onnxProto.onnx.IAttributeProto[] => [
    { name: 'kernel_shape', ints: [k, k], type: onnx.AttributeProto.AttributeType.INTS },
    { name: 'pads', ints: k === 3 ? [1, 1, 1, 1] : [0, 0, 0, 0], type: onnx.AttributeProto.AttributeType.INTS },
  ];
  const initializer = [...conv('c0', 3, c, 3)];
  const node: onnxProto.onnx.INodeProto[] = [{ opType: 'Conv', input: [inName, 'c0_w', 'c0_b'], output: ['h0'], attribute: attrs(3) }];
  let last = 'h0';
  for (let i = 1; i <= l; i++) {
    initializer.push(...conv(`c${i}`, c, c, 3));
    node.push({ opType: 'Conv', input: [last, `c${i}_w`, `c${i}_b`], output: [`p${i}`], attribute: attrs(3) });
    node.push({ opType: 'Relu', input: [`p${i}`], output: [`h${i}`] });
    last = `h${i}`;
  }
  initializer.push(...conv('head', c, 1, 1));
  node.push({ opType: 'Conv', input: [last, 'head_w', 'head_b'], output: ['z'], attribute: attrs(1) });
  node.push({ opType: 'Sigmoid', input: ['z'], output: [outName] });
  const batch = options.dynamicBatch === false ? 1 : 'N';
  return encodeModel({
    name: 'heavy',
    node,
    initializer,
    input: [valueInfo(inName, FLOAT, dims(batch, 3, s, s))],
    output: [valueInfo(outName, FLOAT, dims(batch, 1, s, s))],
  });
}

/**
 * A ready LoadedModel around a tiny model on CPU (contract checked as at startup).
 * @example const model = await loadTinyModel({ size: 32 }); const p = pipelineForModel(model, opts)
 */
export async function loadTinyModel(options: TinyModelOptions = {}, spec: ModelSpec = tinySpec(options)): Promise<LoadedModel> {
  const path = await writeModelFile(buildTinyModel(options));
  const { session, provider } = await createSession(path, { provider: 'cpu', requireGpu: false, intraOpThreads: 1 });
  return { spec, session, provider, sha256: await sha256File(path), path, contract: checkContract(session, spec) };
}
