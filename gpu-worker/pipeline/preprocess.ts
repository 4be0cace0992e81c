import sharp, { type ResizeOptions } from 'sharp';
import { DEFAULT_RESIZE_KERNEL, type ModelSpec } from '../model/spec.js';
import type { RgbImage } from './decode.js';

/**
 * A 256-entry table per channel: normalising is then one lookup per sample, which is
 * several times faster than the float arithmetic on 3 M samples per image.
 */
export function normalizationTables(normalize: ModelSpec['normalize']): [Float32Array, Float32Array, Float32Array] {
  const make = (c: 0 | 1 | 2): Float32Array => {
    const t = new Float32Array(256);
    for (let v = 0; v < 256; v++) t[v] = (v - normalize.mean[c]) / normalize.std[c];
    return t;
  };
  return [make(0), make(1), make(2)];
}

/**
 * Interleaved RGB bytes -> planar float32 CHW (one image of an NCHW batch), normalised.
 * @example toChwTensor(rgb, ISNET_GENERAL_1024.normalize) // Float32Array(3 * h * w)
 */
export function toChwTensor(rgb: Uint8Array, normalize: ModelSpec['normalize'], tables = normalizationTables(normalize)): Float32Array {
  const plane = rgb.length / 3;
  const out = new Float32Array(plane * 3);
  const [tr, tg, tb] = tables;
  for (let i = 0, j = 0; i < plane; i++, j += 3) {
    out[i] = tr[rgb[j]!]!;
    out[i + plane] = tg[rgb[j + 1]!]!;
    out[i + 2 * plane] = tb[rgb[j + 2]!]!;
  }
  return out;
}

/** The input's size and resize kernel; a spec's `input` (the kernel defaults as in the spec). */
export interface ModelInputShape {
  input: Pick<ModelSpec['input'], 'width' | 'height'> & Partial<Pick<ModelSpec['input'], 'name' | 'resize'>>;
}

/** sharp's resize options for the model input: stretched (aspect ratio not kept, as the models were trained) with the preset's kernel. */
const resizeOptions = (input: ModelInputShape['input']): ResizeOptions => ({ fit: 'fill', kernel: input.resize ?? DEFAULT_RESIZE_KERNEL });

/**
 * Resize to the model's input with the kernel of its contract (`spec.input.resize`).
 * The pipeline keeps this copy: foreground refinement reads its colour means from it.
 * @example const resized = await resizeForModel(image, ISNET_GENERAL_1024) // 1024x1024 RGB
 */
export async function resizeForModel(image: RgbImage, spec: ModelInputShape): Promise<RgbImage> {
  const { width, height } = spec.input;
  if (image.width === width && image.height === height) return image;
  const data = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(width, height, resizeOptions(spec.input))
    .raw()
    .toBuffer();
  return { data, width, height };
}

/**
 * Resize to the model's input and normalise into a CHW float32 tensor.
 * @example const chw = await preprocess(image, ISNET_GENERAL_1024) // length 3*1024*1024
 */
export async function preprocess(image: RgbImage, spec: ModelInputShape & Pick<ModelSpec, 'normalize'>, tables = normalizationTables(spec.normalize)): Promise<Float32Array> {
  return toChwTensor((await resizeForModel(image, spec)).data, spec.normalize, tables);
}

/**
 * A rectangle of the photo resized to the model's input (the second look at a small subject).
 * @example const chw = toChwTensor((await cropForModel(image, crop, spec)).data, spec.normalize)
 */
export async function cropForModel(image: RgbImage, crop: { left: number; top: number; width: number; height: number }, spec: ModelInputShape): Promise<RgbImage> {
  const { width, height } = spec.input;
  const data = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .extract(crop)
    .resize(width, height, resizeOptions(spec.input))
    .raw()
    .toBuffer();
  return { data, width, height };
}
