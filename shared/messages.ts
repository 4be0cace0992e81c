import type { JobError } from '../schemas/status.js';
import type { ErrorCode } from './errors.js';

/**
 * What a shopper reads when a job is rejected or fails: one sentence per error code, saying
 * what happened and what to do, in plain words. The library's or the system's own text goes
 * to `detail`, for operators; a storefront shows `message` as is. The one place for these
 * sentences: the functions (rejections at ingest) and the worker (failures) both use it.
 */
export const SHOPPER_MESSAGES: Readonly<Record<ErrorCode, string>> = {
  empty: 'This file is empty — please choose the photo again.',
  too_large: 'This photo is too large — please choose a smaller one.',
  too_small: 'This photo is too small to cut out — please choose a larger one.',
  pixel_limit: 'This image has too many pixels to process — please choose a smaller photo.',
  unsupported_format: 'This type of file is not supported — please choose a JPEG, PNG or WebP photo.',
  content_type_mismatch: 'This file is not the kind of image it says it is — please choose the photo again.',
  corrupt: 'This file is damaged or incomplete — please choose the photo again.',
  animated: 'Animated images are not supported — please choose a single still photo.',
  bad_request: 'This upload could not be accepted — please choose the photo again.',
  source_missing: 'The photo was removed before we could process it — please upload it again.',
  source_changed: 'The photo was replaced while we were processing it — please upload it again.',
  invalid_message: 'Something went wrong on our side and this photo was not processed — please upload it again.',
  model_contract: 'Something went wrong on our side and this photo was not processed — please try again later.',
  model_checksum: 'Something went wrong on our side and this photo was not processed — please try again later.',
  no_subject: 'We could not find a pet in this photo — please try one where your pet stands clear of leaves, bars and the edges of the picture.',
  dead_lettered: 'We could not process this photo after several tries — please try again later or choose another photo.',
  unavailable: 'Our service is busy right now — please try again in a few minutes.',
  timeout: 'Processing took too long — please try again in a few minutes.',
  conflict: 'Something went wrong on our side — please try again in a few minutes.',
  model_not_ready: 'Our service is starting up — please try again in a few minutes.',
  not_found: 'Something went wrong on our side — please try again later.',
  permission_denied: 'Something went wrong on our side — please try again later.',
  internal: 'Something went wrong on our side — please try again later.',
};

const GENERIC = SHOPPER_MESSAGES.internal;
// Library messages can be long (whole stacks of libvips errors); the first lines are enough.
const MAX_DETAIL = 2000;

/** The shopper's sentence for a code; codes this build does not know get the generic one. */
export function shopperMessage(code: string): string {
  return (SHOPPER_MESSAGES as Record<string, string>)[code] ?? GENERIC;
}

/**
 * A job's error: the code, the shopper's sentence, and the technical text as `detail`.
 * @example jobError('corrupt', 'VipsJpeg: Premature end of JPEG file', false)
 */
export function jobError(code: ErrorCode, detail: string, retryable: boolean): JobError {
  const trimmed = detail.trim().slice(0, MAX_DETAIL);
  return { code, message: shopperMessage(code), ...(trimmed ? { detail: trimmed } : {}), retryable };
}
