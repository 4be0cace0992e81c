import { PipelineError, type ErrorCode } from '../../../shared/errors.js';
import type { ModelSpec } from '../../model/spec.js';
import type { RgbImage } from '../decode.js';
import type { SaliencyMap } from '../infer.js';
import { cropForModel, toChwTensor } from '../preprocess.js';
import { prepareAlpha, type PreparedAlpha } from './prepare.js';
import { NO_SUBJECT_MESSAGE } from './quality.js';
import { mergeSecondLook, secondLookCrop, type Crop } from './second-look.js';

/**
 * No subject in the photo: permanent (the same photo never has one), with a message for the
 * shopper. The code is `no_subject`; shared/errors.ts's PERMANENT_CODES does not list it yet
 * (the status wiring of issue 16 adds it), hence the cast.
 */
export class NoSubjectError extends PipelineError {
  override readonly name = 'PermanentError';
  constructor(detail: string) {
    super('no_subject' as ErrorCode, NO_SUBJECT_MESSAGE, false, { cause: new Error(detail) });
  }
}

export interface DecidedAlpha {
  prepared: PreparedAlpha;
  /** The second look's crop, when one was taken. */
  crop?: Crop;
  /** Milliseconds of the second look's own preprocessing and inference. */
  secondLookMs?: number;
}

/**
 * After the model: decide the alpha at the map's size (pipeline/alpha/prepare.ts), take a
 * second look at a small subject when the spec says so (`infer` runs the model on the crop),
 * and refuse a photo without a subject (NoSubjectError).
 * @example const { prepared } = await decideAlpha(image, map, spec, (chw) => batcher.submit(chw).then((o) => o.result.map))
 */
export async function decideAlpha(image: RgbImage, map: SaliencyMap, spec: ModelSpec, infer: (chw: Float32Array) => Promise<SaliencyMap>): Promise<DecidedAlpha> {
  let prepared = prepareAlpha(map, spec.output, spec.alpha, image);
  if (prepared.noSubject) throw new NoSubjectError(`subject area ${prepared.analysis.subjectArea} of ${map.width}x${map.height} map pixels`);
  const crop = secondLookCrop(prepared.analysis, image.width, image.height, spec.alpha);
  if (!crop) return { prepared };
  const started = performance.now();
  const second = await infer(toChwTensor((await cropForModel(image, crop, spec)).data, spec.normalize));
  prepared = prepareAlpha(mergeSecondLook(map, second, crop, image.width, image.height), spec.output, spec.alpha, image);
  return { prepared, crop, secondLookMs: performance.now() - started };
}
