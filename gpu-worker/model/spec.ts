import { z } from 'zod';
import { AlphaSpec } from '../pipeline/alpha/options.js';

/**
 * What the pipeline must know about a segmentation model: its tensor names and sizes, how
 * pixels are normalised before it, and what its output means. Presets are values of this
 * type; a custom model is described by a JSON file of the same shape (MODEL_SPEC).
 */
const triple = z.tuple([z.number(), z.number(), z.number()]);
const dim = z.number().int().min(1).max(8192);

/** sharp's resize kernels (`sharp.kernel`). */
export const RESIZE_KERNELS = ['nearest', 'linear', 'cubic', 'mitchell', 'lanczos2', 'lanczos3', 'mks2013', 'mks2021'] as const;
export type ResizeKernel = (typeof RESIZE_KERNELS)[number];
/** sharp's own default, what every model got before the kernel became part of the contract. */
export const DEFAULT_RESIZE_KERNEL: ResizeKernel = 'lanczos3';

export const ModelSpec = z
  .object({
    id: z.string().regex(/^[a-z0-9][a-z0-9._-]{1,80}$/, { error: 'expected a model id of lower-case letters, digits, dots, dashes' }),
    input: z
      .object({
        name: z.string().min(1),
        /** The static resize target; the map comes back at the output's size. */
        width: dim,
        height: dim,
        /**
         * The sharp kernel that resizes the photo to the input (and a second-look crop): part
         * of the contract, since a model sees best what it was trained and validated on, so
         * pick the kernel nearest its reference preprocessing (PIL bilinear -> `linear`).
         */
        resize: z.enum(RESIZE_KERNELS).default(DEFAULT_RESIZE_KERNEL),
      })
      .strict(),
    /**
     * Per channel (R, G, B), in 0-255 pixel units: `x = (v - mean) / std`.
     * ISNet's `(v-128)/256` is mean 128, std 256; ImageNet is mean 0.485*255..., std 0.229*255...
     */
    normalize: z.object({ mean: triple, std: triple.refine((s) => s.every((v) => v > 0), { error: 'std must be positive' }) }).strict(),
    output: z
      .object({
        name: z.string().min(1),
        /** `logits` get a sigmoid first; `probabilities` are used as they are. */
        kind: z.enum(['probabilities', 'logits']),
        /** Stretch each image's map to [0,1] (min-max over that image only, never the batch). */
        minMax: z.boolean().default(true),
      })
      .strict(),
    /** Free text shown in logs, e.g. the weights' licence. */
    license: z.string().optional(),
    /** What is done to the map before it becomes the alpha (pipeline/alpha/options.ts); absent = the defaults. */
    alpha: AlphaSpec.prefault({}),
  })
  .strict();
export type ModelSpec = z.infer<typeof ModelSpec>;
export type ModelSpecInput = z.input<typeof ModelSpec>;

/** A spec the loader could not use; the message names the field. */
export class ModelSpecError extends Error {
  override readonly name = 'ModelSpecError';
}

/**
 * Parse a custom model description (the contents of a MODEL_SPEC JSON file).
 * @example parseModelSpec('{"id":"my-net","input":{"name":"x","width":512,"height":512},...}')
 */
export function parseModelSpec(json: string, source = 'model spec'): ModelSpec {
  let raw: unknown;
  try {
    raw = JSON.parse(json);
  } catch (err) {
    throw new ModelSpecError(`${source} is not valid JSON: ${(err as Error).message}`, { cause: err });
  }
  const result = ModelSpec.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  throw new ModelSpecError(`${source} is invalid: ${problems.join('; ')}`);
}
