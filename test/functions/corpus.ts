import { readFileSync } from 'node:fs';
import { crc32, deflateSync } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';
import type { ImageLimits } from '../../functions/validate-image.js';

/**
 * The bad-input corpus, generated at test time from the fixture photos and from raw
 * bytes, each case with the outcome the pipeline must reach.
 */
export interface CorpusCase {
  name: string;
  body: Buffer;
  declaredType: string | undefined;
  trigger: 'upload' | 'batch';
  /** Object name for batch drops (the extension is the operator's, not ours). */
  batchName?: string;
  /** 'accepted', or the rejection code. */
  expected: 'accepted' | string;
  /** Content type the job must carry when accepted. */
  acceptedAs?: string;
}

export const CORPUS_LIMITS: ImageLimits = { maxBytes: 4 * 1024 * 1024, minSidePx: 32, maxSidePx: 16_384, maxPixels: 50_000_000 };

const photo = (name: string): Buffer => readFileSync(new URL(`../fixtures/photos/${name}`, import.meta.url));

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body) >>> 0);
  return Buffer.concat([len, body, crc]);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** A well-formed PNG header claiming `width` x `height`, with a token IDAT: a decompression bomb's shape. */
function pngClaiming(width: number, height: number): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', deflateSync(Buffer.alloc(1024))), chunk('IEND', Buffer.alloc(0))]);
}

/** An APNG: an `acTL` chunk inserted right after IHDR of a still PNG. */
function apngFrom(png: Buffer): Buffer {
  const ihdrEnd = 8 + 8 + 13 + 4;
  const actl = Buffer.alloc(8);
  actl.writeUInt32BE(2, 0);
  return Buffer.concat([png.subarray(0, ihdrEnd), chunk('acTL', actl), png.subarray(ihdrEnd)]);
}

function bmp(width: number, height: number): Buffer {
  const rowBytes = Math.ceil((width * 3) / 4) * 4;
  const header = Buffer.alloc(54);
  header.write('BM', 0, 'latin1');
  header.writeUInt32LE(54 + rowBytes * height, 2);
  header.writeUInt32LE(54, 10);
  header.writeUInt32LE(40, 14);
  header.writeInt32LE(width, 18);
  header.writeInt32LE(height, 22);
  header.writeUInt16LE(1, 26);
  header.writeUInt16LE(24, 28);
  return Buffer.concat([header, Buffer.alloc(rowBytes * height, 0x80)]);
}

const heicLike = (): Buffer =>
  Buffer.concat([Buffer.from([0, 0, 0, 0x18]), Buffer.from('ftypheic\0\0\0\0mif1heic', 'latin1'), Buffer.alloc(256, 7)]);

export async function buildCorpus(): Promise<CorpusCase[]> {
  const cat = sharp(photo('skimage-chelsea-cat.png'));
  const jpeg = await sharp(photo('opencv-baboon.jpg')).resize(256).jpeg().toBuffer();
  const png = await cat.clone().resize(256).png().toBuffer();
  const webp = await cat.clone().resize(256).webp().toBuffer();
  const frames = await Promise.all(['#c33', '#3c3', '#33c'].map((background) => sharp({ create: { width: 64, height: 64, channels: 3, background } }).png().toBuffer()));
  const animated = (): Sharp => sharp(frames, { join: { animated: true } });
  const u = (name: string, body: Buffer, declaredType: string | undefined, expected: string, acceptedAs?: string): CorpusCase => ({
    name,
    body,
    declaredType,
    trigger: 'upload',
    expected,
    ...(acceptedAs ? { acceptedAs } : {}),
  });
  const ok = (name: string, body: Buffer, type: string): CorpusCase => u(name, body, type, 'accepted', type);

  return [
    u('zero bytes', Buffer.alloc(0), 'image/jpeg', 'empty'),
    u('truncated JPEG', jpeg.subarray(0, Math.floor(jpeg.length * 0.6)), 'image/jpeg', 'corrupt'),
    u('truncated PNG', png.subarray(0, Math.floor(png.length * 0.6)), 'image/png', 'corrupt'),
    u('truncated WebP', webp.subarray(0, Math.floor(webp.length * 0.6)), 'image/webp', 'corrupt'),
    u('JPEG markers then garbage', Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.alloc(2048, 0x41)]), 'image/jpeg', 'corrupt'),
    u('plain text saved as .jpg', Buffer.from('hello, this is not a photo of a cat\n'.repeat(20)), 'image/jpeg', 'unsupported_format'),
    u('HTML saved as .jpg', Buffer.from('<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>'), 'image/jpeg', 'unsupported_format'),
    u('SVG with script', Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="500" height="500"><script>alert(1)</script></svg>'), 'image/png', 'unsupported_format'),
    u('PNG header claiming 30000x30000', pngClaiming(30_000, 30_000), 'image/png', 'pixel_limit'),
    u('PNG 20000 px wide strip', await sharp({ create: { width: 20_000, height: 40, channels: 3, background: '#fff' } }).png().toBuffer(), 'image/png', 'pixel_limit'),
    u('animated GIF', await animated().gif().toBuffer(), 'image/jpeg', 'unsupported_format'),
    u('animated WebP', await animated().webp().toBuffer(), 'image/webp', 'animated'),
    u('animated PNG (APNG)', apngFrom(png), 'image/png', 'animated'),
    u('1x1 PNG', await sharp({ create: { width: 1, height: 1, channels: 3, background: '#000' } }).png().toBuffer(), 'image/png', 'too_small'),
    u('16x16 JPEG', await sharp({ create: { width: 16, height: 16, channels: 3, background: '#0a0' } }).jpeg().toBuffer(), 'image/jpeg', 'too_small'),
    u('file over the size limit', Buffer.concat([jpeg, Buffer.alloc(CORPUS_LIMITS.maxBytes)]), 'image/jpeg', 'too_large'),
    u('declared PNG, content JPEG', jpeg, 'image/png', 'content_type_mismatch'),
    u('declared JPEG, content WebP', webp, 'image/jpeg', 'content_type_mismatch'),
    u('HEIC declared as HEIC', heicLike(), 'image/heic', 'unsupported_format'),
    u('HEIC declared as JPEG', heicLike(), 'image/jpeg', 'unsupported_format'),
    u('TIFF', await cat.clone().resize(128).tiff().toBuffer(), 'image/tiff', 'unsupported_format'),
    u('BMP', bmp(64, 64), 'image/bmp', 'unsupported_format'),
    u('AVIF', await cat.clone().resize(128).avif().toBuffer(), 'image/jpeg', 'unsupported_format'),
    u('PDF header', Buffer.from('%PDF-1.7\n%\xe2\xe3\n1 0 obj\n<<>>\nendobj\n', 'latin1'), 'image/jpeg', 'unsupported_format'),
    u('random bytes', Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256)), 'image/png', 'unsupported_format'),
    u('JPEG declared as octet-stream', jpeg, 'application/octet-stream', 'unsupported_format'),
    ok('CMYK JPEG', await sharp(photo('opencv-baboon.jpg')).resize(256).toColourspace('cmyk').jpeg().toBuffer(), 'image/jpeg'),
    ok('16-bit PNG', await cat.clone().resize(128).toColourspace('rgb16').png().toBuffer(), 'image/png'),
    ok('greyscale JPEG', await sharp(photo('opencv-baboon.jpg')).resize(256).greyscale().jpeg().toBuffer(), 'image/jpeg'),
    ok('greyscale+alpha PNG', await cat.clone().resize(128).greyscale().ensureAlpha().png().toBuffer(), 'image/png'),
    ok('EXIF-rotated JPEG (orientation 6)', await sharp(photo('opencv-butterfly.jpg')).jpeg().withMetadata({ orientation: 6 }).toBuffer(), 'image/jpeg'),
    ok('palette PNG', await cat.clone().resize(128).png({ palette: true, colours: 16 }).toBuffer(), 'image/png'),
    ok('PNG with trailing garbage', Buffer.concat([png, Buffer.from('trailing garbage after IEND'.repeat(10))]), 'image/png'),
    ok('JPEG with trailing garbage', Buffer.concat([jpeg, Buffer.alloc(500, 0x55)]), 'image/jpeg'),
    ok('still WebP', webp, 'image/webp'),
    ok('lossless WebP with alpha', await cat.clone().resize(128).ensureAlpha(0.5).webp({ lossless: true }).toBuffer(), 'image/webp'),
    ok('progressive JPEG', await sharp(photo('sklearn-china.jpg')).jpeg({ progressive: true }).toBuffer(), 'image/jpeg'),
    ok('12-megapixel photo', photo('raccoon-12mp.jpg'), 'image/jpeg'),
    ok('exactly the minimum side', await sharp({ create: { width: 32, height: 400, channels: 3, background: '#123' } }).png().toBuffer(), 'image/png'),
    { name: 'batch: JPEG with a .png name', body: jpeg, declaredType: 'image/png', trigger: 'batch', batchName: 'batch/pets/rex.png', expected: 'accepted', acceptedAs: 'image/jpeg' },
    { name: 'batch: JPEG with no type', body: jpeg, declaredType: undefined, trigger: 'batch', batchName: 'batch/pets/rex', expected: 'accepted', acceptedAs: 'image/jpeg' },
    { name: 'batch: text file', body: Buffer.from('notes.txt'), declaredType: 'text/plain', trigger: 'batch', batchName: 'batch/pets/notes.txt', expected: 'unsupported_format' },
    { name: 'batch: truncated PNG', body: png.subarray(0, 600), declaredType: 'image/png', trigger: 'batch', batchName: 'batch/pets/cut.png', expected: 'corrupt' },
  ];
}

/**
 * A JPEG whose entropy-coded scan data is garbled in the middle: the headers are fine and
 * libjpeg decodes it with only a warning ("Corrupt JPEG data: premature end of data
 * segment" or "... extraneous bytes before marker"), into a smear.
 */
export async function garbledScanJpeg(seed = 1): Promise<Buffer> {
  const jpeg = await sharp(photo('opencv-baboon.jpg')).resize(256).jpeg({ quality: 90 }).toBuffer();
  const sos = jpeg.indexOf(Buffer.from([0xff, 0xda]));
  const start = sos + Math.floor((jpeg.length - sos) * 0.4);
  const out = Buffer.from(jpeg);
  let x = seed * 2654435761;
  for (let i = start; i < start + 64; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = (x >>> 16) & 0xff;
  }
  // A restart marker in the middle of a scan without restart intervals: the decoder stops early.
  out[start + 64] = 0xff;
  out[start + 65] = 0xd0;
  return out;
}

/** Twenty different corrupt files, each with a pattern its own decoder error must match. */
export async function corruptFiles(): Promise<Array<{ name: string; body: Buffer; declaredType: string; own: RegExp }>> {
  const cat = sharp(photo('skimage-chelsea-cat.png'));
  const files: Array<{ name: string; body: Buffer; declaredType: string; own: RegExp }> = [];
  for (let i = 0; i < 7; i++) {
    const jpeg = await sharp(photo('opencv-baboon.jpg')).resize(200 + i * 16).jpeg().toBuffer();
    files.push({ name: `truncated JPEG ${i}`, body: jpeg.subarray(0, Math.floor(jpeg.length * (0.3 + i * 0.08))), declaredType: 'image/jpeg', own: /jpeg/i });
  }
  for (let i = 0; i < 7; i++) {
    const png = await cat.clone().resize(200 + i * 16).png().toBuffer();
    files.push({ name: `truncated PNG ${i}`, body: png.subarray(0, Math.floor(png.length * (0.3 + i * 0.08))), declaredType: 'image/png', own: /png/i });
  }
  for (let i = 0; i < 6; i++) {
    const webp = await cat.clone().resize(200 + i * 16).webp().toBuffer();
    files.push({ name: `truncated WebP ${i}`, body: webp.subarray(0, Math.floor(webp.length * (0.3 + i * 0.08))), declaredType: 'image/webp', own: /webp/i });
  }
  return files;
}
