import sharp, { type Metadata } from 'sharp';
import { PermanentError, type PermanentCode } from '../../shared/errors.js';

/** 8-bit sRGB pixels, interleaved RGB, upright (EXIF orientation applied). */
export interface RgbImage {
  data: Buffer;
  width: number;
  height: number;
}

export interface DecodeOptions {
  /** Refuse images with more pixels than this (decompression bombs). */
  limitInputPixels: number;
}

/** What we decode; everything else is refused before the decoder runs. */
const SUPPORTED_FORMATS: ReadonlySet<string> = new Set(['jpeg', 'png', 'webp']);

/**
 * Decode uploaded bytes into upright 8-bit sRGB: EXIF orientation applied, CMYK, 16-bit,
 * greyscale and palette images converted, transparency flattened onto white (the model
 * was trained on opaque photos). Problems with the input are PermanentErrors with a code:
 * `empty`, `unsupported_format`, `pixel_limit`, `animated`, `corrupt`.
 * @example const { data, width, height } = await decodeImage(bytes, { limitInputPixels: 64e6 })
 */
export async function decodeImage(bytes: Buffer, options: DecodeOptions): Promise<RgbImage> {
  if (bytes.length === 0) throw new PermanentError('empty', 'the image is empty (0 bytes)');
  let meta: Metadata;
  try {
    meta = await sharp(bytes, { limitInputPixels: false }).metadata();
  } catch (err) {
    throw toPermanent(err);
  }
  if (!meta.format || !SUPPORTED_FORMATS.has(meta.format)) {
    throw new PermanentError('unsupported_format', `unsupported image format ${meta.format ?? 'unknown'}: expected JPEG, PNG or WebP`);
  }
  if ((meta.pages ?? 1) > 1) throw new PermanentError('animated', `animated ${meta.format} with ${meta.pages} frames is not supported`);
  const pixels = meta.width * meta.height;
  if (pixels > options.limitInputPixels) {
    throw new PermanentError('pixel_limit', `image is ${meta.width}x${meta.height} (${pixels} pixels), more than the limit of ${options.limitInputPixels}`);
  }
  try {
    let pipeline = sharp(bytes, {
      limitInputPixels: options.limitInputPixels,
      // One top-to-bottom pass: JPEG decodes without keeping the whole coded image around.
      sequentialRead: true,
      // Truncated files are refused, minor warnings (common in camera JPEGs) are not.
      failOn: 'truncated',
    }).autoOrient();
    if (meta.hasAlpha) pipeline = pipeline.flatten({ background: '#ffffff' });
    // toColourspace('srgb') is what turns CMYK (via its ICC profile), 16-bit and grey into 8-bit RGB.
    const { data, info } = await pipeline.toColourspace('srgb').removeAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new PermanentError('unsupported_format', `decoded to ${info.channels} channels, expected 3`);
    return { data, width: info.width, height: info.height };
  } catch (err) {
    throw toPermanent(err);
  }
}

/** Map libvips' messages to our codes; anything the decoder chokes on is corrupt. */
function toPermanent(err: unknown): PermanentError {
  if (err instanceof PermanentError) return err;
  const message = err instanceof Error ? err.message : String(err);
  let code: PermanentCode = 'corrupt';
  if (/unsupported image format/i.test(message)) code = 'unsupported_format';
  else if (/pixel limit/i.test(message)) code = 'pixel_limit';
  return new PermanentError(code, `cannot decode the image: ${message.split('\n')[0]}`, { cause: err });
}
