import sharp from 'sharp';
import type { OutputKind } from '../../schemas/common.js';
import type { RenderedOutput } from './contract.js';
import type { RgbImage } from './decode.js';

/**
 * zlib level 1 without row filters: on a cutout whose transparent pixels are zeroed, this
 * is ~10x faster than the reference's level 6 with adaptive filtering for files ~1.5x
 * larger. Encoding dominated the old pipeline's time, bytes are cheap.
 */
export const PNG_OPTIONS = { compressionLevel: 1, adaptiveFiltering: false } as const;
/** The storefront preview: small and quick; effort 2 of 6 is ~3x faster than the default 4. */
export const PREVIEW_MAX_SIDE = 1024;
const WEBP_OPTIONS = { quality: 82, alphaQuality: 90, effort: 2 } as const;

/**
 * Interleave colour and alpha into RGBA (natively, with sharp), then zero the colour of
 * fully transparent pixels: nobody sees them, they compress to nothing (a 12 MP cutout
 * encodes several times faster), and no background detail leaks.
 * @example const rgba = await composeRgba(image, alpha)
 */
export async function composeRgba(image: RgbImage, alpha: Uint8Array): Promise<Buffer> {
  const { width, height } = image;
  const joined = await sharp(image.data, { raw: { width, height, channels: 3 } })
    .joinChannel(Buffer.from(alpha.buffer, alpha.byteOffset, alpha.byteLength), { raw: { width, height, channels: 1 } })
    .raw()
    .toBuffer();
  // One 32-bit store clears a pixel; sharp's buffers are aligned, copy only if one is not.
  let out: Buffer = joined;
  if (joined.byteOffset % 4 !== 0) {
    out = Buffer.from(new ArrayBuffer(joined.length));
    joined.copy(out);
  }
  const px = new Uint32Array(out.buffer, out.byteOffset, out.length >> 2);
  for (let i = 0; i < px.length; i++) if (alpha[i] === 0) px[i] = 0;
  return out;
}

/** Luma of an RGBA cutout and the contrast stretch for its foreground. */
export interface BlackAndWhite {
  /** Rec. 601 luma, one byte per pixel (0 where transparent). */
  grey: Buffer;
  /** `out = grey * scale + offset` stretches the foreground's 1st-99th percentile to 0-255. */
  scale: number;
  offset: number;
}

/**
 * Black-and-white of a cutout: Rec. 601 luma, and a linear stretch taking the 1st-99th
 * percentile of the foreground's luma (alpha >= 128) to the full range, so a dark pet on
 * a print is not a grey smudge. The stretch is applied natively at encode time.
 * @example const { grey, scale, offset } = blackAndWhite(rgba)
 */
export function blackAndWhite(rgba: Uint8Array): BlackAndWhite {
  const px = new Uint32Array(rgba.buffer, rgba.byteOffset, rgba.byteLength >> 2);
  const n = px.length;
  const grey = Buffer.allocUnsafe(n);
  const histogram = new Uint32Array(256);
  for (let i = 0; i < n; i++) {
    const p = px[i]!;
    // Integer luma, (0.299, 0.587, 0.114) * 256; little-endian RGBA reads as 0xAABBGGRR.
    const y = (77 * (p & 255) + 150 * ((p >>> 8) & 255) + 29 * ((p >>> 16) & 255) + 128) >> 8;
    grey[i] = y;
    if (p >>> 31) histogram[y]!++;
  }
  const [lo, hi] = percentiles(histogram, 0.01, 0.99);
  const scale = hi > lo ? 255 / (hi - lo) : 1;
  return { grey, scale, offset: hi > lo && lo > 0 ? -lo * scale : 0 };
}

function percentiles(histogram: Uint32Array, low: number, high: number): [number, number] {
  let total = 0;
  for (const c of histogram) total += c;
  if (total === 0) return [0, 255];
  let lo = -1;
  let hi = 255;
  let seen = 0;
  for (let v = 0; v < 256; v++) {
    seen += histogram[v]!;
    if (lo < 0 && seen > total * low) lo = v;
    if (seen >= total * high) {
      hi = v;
      break;
    }
  }
  return [Math.max(lo, 0), hi];
}

export interface OutputSources {
  /** The cutout, RGBA (foreground colours and alpha). */
  rgba: Buffer;
  alpha: Buffer;
  width: number;
  height: number;
}

/**
 * Encode the requested outputs concurrently (each sharp call runs on libuv's threadpool;
 * the black-and-white luma is computed on this thread while the others encode). Nothing
 * asks for metadata, so EXIF/GPS/ICC never reach an output.
 * @example const outs = await encodeOutputs(['cutout', 'mask'], { rgba, alpha, width, height })
 */
export async function encodeOutputs(kinds: readonly OutputKind[], src: OutputSources): Promise<RenderedOutput[]> {
  const { width, height } = src;
  const png = (data: Buffer, channels: 1 | 4, kind: OutputKind): Promise<RenderedOutput> =>
    sharp(data, { raw: { width, height, channels } })
      // Without this a one-channel raw input is written as three-channel RGB.
      .toColourspace(channels === 1 ? 'b-w' : 'srgb')
      .png(PNG_OPTIONS)
      .toBuffer()
      .then((out) => ({ kind, data: out, contentType: 'image/png', width, height }));
  const jobs = new Map<OutputKind, Promise<RenderedOutput>>();
  if (kinds.includes('cutout')) jobs.set('cutout', png(src.rgba, 4, 'cutout'));
  if (kinds.includes('mask')) jobs.set('mask', png(src.alpha, 1, 'mask'));
  if (kinds.includes('preview')) {
    jobs.set(
      'preview',
      sharp(src.rgba, { raw: { width, height, channels: 4 } })
        .resize(PREVIEW_MAX_SIDE, PREVIEW_MAX_SIDE, { fit: 'inside', withoutEnlargement: true })
        .webp(WEBP_OPTIONS)
        .toBuffer({ resolveWithObject: true })
        .then(({ data, info }) => ({ kind: 'preview' as const, data, contentType: 'image/webp', width: info.width, height: info.height })),
    );
  }
  if (kinds.includes('bw')) {
    const { grey, scale, offset } = blackAndWhite(src.rgba);
    const raw1 = { raw: { width, height, channels: 1 as const } };
    jobs.set(
      'bw',
      sharp(grey, raw1)
        .linear(scale, offset)
        .joinChannel(src.alpha, raw1)
        .png(PNG_OPTIONS)
        .toBuffer()
        .then((data) => ({ kind: 'bw' as const, data, contentType: 'image/png', width, height })),
    );
  }
  const done = await Promise.all(jobs.values());
  // Same order as requested, whatever order the encodes finished in.
  return kinds.map((k) => done.find((o) => o.kind === k)!);
}
