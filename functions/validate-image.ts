import sharp, { type Metadata } from 'sharp';
import { ACCEPTED_CONTENT_TYPES, type AcceptedContentType } from '../schemas/common.js';
import type { PermanentCode } from '../shared/errors.js';
import { FifoGate } from '../shared/fifo-gate.js';
import { shopperMessage } from '../shared/messages.js';
import { CONTENT_TYPE_OF, isAnimatedPng, KIND_LABEL, sniff } from './sniff.js';

export interface ImageLimits {
  maxBytes: number;
  minSidePx: number;
  maxSidePx: number;
  maxPixels: number;
}

export interface ImageCandidate {
  /** The bytes read (at most maxBytes + 1). */
  body: Buffer;
  /** The object's size as stored, from the event. */
  size: number;
  /** Content-Type stored with the object; for uploads the signed URL bound it. */
  declaredType: string | undefined;
  /**
   * Uploads: the declared type is a promise the browser made, so a mismatch is rejected.
   * Batch drops: operators' files carry whatever extension they carry, so content wins.
   */
  contentIsAuthoritative: boolean;
}

export type Verdict =
  | { ok: true; contentType: AcceptedContentType; width: number; height: number; note?: string }
  /** `message` for the shopper (shared/messages.ts), `detail` the technical reason. */
  | { ok: false; code: PermanentCode; message: string; detail: string };

const ACCEPTED_TEXT = 'accepted are JPEG, PNG and WebP';
// Size of the throwaway decode: large enough that libvips must read every scan line of
// the source (so truncation shows), small enough that JPEG/WebP shrink-on-load keeps it cheap.
const PROBE_SIDE_PX = 64;
// A 50 MP PNG decodes in about a second on one core; anything still running after this is
// pathological input, and the function must answer rather than hang until its own timeout.
const PROBE_TIMEOUT_S = 20;

const reject = (code: PermanentCode, detail: string): Verdict => ({ ok: false, code, message: shopperMessage(code), detail });

/**
 * One libvips call at a time. libvips keeps a single error buffer for the whole process and
 * sharp copies it out, then clears it, after a failed call: two failures at once read (or
 * clear) each other's text, so one job's rejection carried another file's error (or
 * "Unknown error"). The calls here are a header read and a decode at 64 px, tens of
 * milliseconds even for a 12 MP photo, so queueing them costs little.
 */
const vips = new FifoGate(1);

function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? 'unknown error';
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/**
 * Decide whether an uploaded file is an image the pipeline can process. Cheap checks
 * come first, headers are read before any pixel is decoded, and the decode itself is
 * bounded by `limitInputPixels` and done at reduced size.
 */
export async function validateImage(input: ImageCandidate, limits: ImageLimits): Promise<Verdict> {
  const { body } = input;
  if (input.size > limits.maxBytes || body.length > limits.maxBytes) {
    return reject('too_large', `the file is ${mib(Math.max(input.size, body.length))}; the limit is ${mib(limits.maxBytes)}`);
  }
  if (input.size === 0 || body.length === 0) return reject('empty', 'the uploaded file is empty (0 bytes)');

  const kind = sniff(body);
  const actual = CONTENT_TYPE_OF[kind];
  if (!actual) return reject('unsupported_format', `the file is ${KIND_LABEL[kind]}; ${ACCEPTED_TEXT}`);
  let note: string | undefined;
  if (input.declaredType !== actual) {
    if (!input.contentIsAuthoritative) {
      if (!(ACCEPTED_CONTENT_TYPES as readonly string[]).includes(input.declaredType ?? '')) {
        return reject('unsupported_format', `declared content type ${JSON.stringify(input.declaredType ?? '')} is not accepted; ${ACCEPTED_TEXT}`);
      }
      return reject('content_type_mismatch', `declared as ${input.declaredType} but the file is ${KIND_LABEL[kind]}`);
    }
    note = `declared ${input.declaredType ?? '(none)'}, content is ${actual}`;
  }

  let meta: Metadata;
  try {
    // Header only: no pixels are decoded here, so a bomb costs nothing yet.
    meta = await vips.run(() => sharp(body, { limitInputPixels: false }).metadata());
  } catch (err) {
    return reject('corrupt', `the image header cannot be read: ${firstLine(err)}`);
  }
  const { width, height } = meta;
  if (!width || !height) return reject('corrupt', 'the image header has no dimensions');
  if ((meta.pages ?? 1) > 1 || (kind === 'png' && isAnimatedPng(body))) {
    return reject('animated', `animated images are not supported (${meta.pages ?? 'several'} frames); upload a single still image`);
  }
  if (Math.min(width, height) < limits.minSidePx) {
    return reject('too_small', `the image is ${width}x${height}; each side must be at least ${limits.minSidePx} px`);
  }
  if (Math.max(width, height) > limits.maxSidePx) {
    return reject('pixel_limit', `the image is ${width}x${height}; no side may exceed ${limits.maxSidePx} px`);
  }
  if (width * height > limits.maxPixels) {
    return reject('pixel_limit', `the image is ${width}x${height} (${((width * height) / 1e6).toFixed(1)} MP); the limit is ${(limits.maxPixels / 1e6).toFixed(1)} MP`);
  }

  try {
    // failOn 'warning': garbled JPEG scan data only makes libjpeg warn ("Corrupt JPEG data:
    // premature end of data segment") and decodes into a smear. Every real photo in the
    // fixtures decodes without a warning (test/functions/validate-image.test.ts).
    await vips.run(() =>
      sharp(body, { failOn: 'warning', limitInputPixels: limits.maxPixels, sequentialRead: true })
        .resize(PROBE_SIDE_PX, PROBE_SIDE_PX, { fit: 'inside' })
        .timeout({ seconds: PROBE_TIMEOUT_S })
        .raw()
        .toBuffer(),
    );
  } catch (err) {
    return reject('corrupt', `the image cannot be decoded (truncated or damaged): ${firstLine(err)}`);
  }
  return note === undefined ? { ok: true, contentType: actual, width, height } : { ok: true, contentType: actual, width, height, note };
}
