import type { AcceptedContentType } from '../schemas/common.js';

/** What a file's first bytes say it is, whatever its name or declared type claim. */
export type SniffedKind =
  | 'jpeg'
  | 'png'
  | 'webp'
  | 'gif'
  | 'tiff'
  | 'bmp'
  | 'heif'
  | 'avif'
  | 'jxl'
  | 'pdf'
  | 'svg'
  | 'html'
  | 'xml'
  | 'text'
  | 'unknown';

export const CONTENT_TYPE_OF: Partial<Record<SniffedKind, AcceptedContentType>> = {
  jpeg: 'image/jpeg',
  png: 'image/png',
  webp: 'image/webp',
};

/** Human names for the rejection message. */
export const KIND_LABEL: Record<SniffedKind, string> = {
  jpeg: 'a JPEG image',
  png: 'a PNG image',
  webp: 'a WebP image',
  gif: 'a GIF image',
  tiff: 'a TIFF image',
  bmp: 'a BMP image',
  heif: 'a HEIC/HEIF image',
  avif: 'an AVIF image',
  jxl: 'a JPEG XL image',
  pdf: 'a PDF document',
  svg: 'an SVG document',
  html: 'an HTML document',
  xml: 'an XML document',
  text: 'plain text',
  unknown: 'not a recognisable image',
};

const HEIF_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'mif1', 'msf1']);
const AVIF_BRANDS = new Set(['avif', 'avis']);

function startsWith(buf: Buffer, bytes: number[], offset = 0): boolean {
  if (buf.length < offset + bytes.length) return false;
  return bytes.every((b, i) => buf[offset + i] === b);
}

function ascii(buf: Buffer, start: number, end: number): string {
  return buf.subarray(start, end).toString('latin1');
}

/** Classify by magic bytes only; never trusts names or declared types. */
export function sniff(buf: Buffer): SniffedKind {
  if (startsWith(buf, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (startsWith(buf, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (ascii(buf, 0, 4) === 'RIFF' && ascii(buf, 8, 12) === 'WEBP') return 'webp';
  if (ascii(buf, 0, 6) === 'GIF87a' || ascii(buf, 0, 6) === 'GIF89a') return 'gif';
  if (startsWith(buf, [0x49, 0x49, 0x2a, 0x00]) || startsWith(buf, [0x4d, 0x4d, 0x00, 0x2a])) return 'tiff';
  if (ascii(buf, 0, 2) === 'BM' && buf.length >= 26) return 'bmp';
  if (ascii(buf, 4, 8) === 'ftyp') {
    const brand = ascii(buf, 8, 12);
    if (AVIF_BRANDS.has(brand)) return 'avif';
    if (HEIF_BRANDS.has(brand)) return 'heif';
  }
  if (startsWith(buf, [0xff, 0x0a]) || startsWith(buf, [0, 0, 0, 0x0c, 0x4a, 0x58, 0x4c, 0x20])) return 'jxl';
  if (ascii(buf, 0, 5) === '%PDF-') return 'pdf';
  return sniffText(buf.subarray(0, 1024));
}

function sniffText(head: Buffer): SniffedKind {
  if (head.length === 0) return 'unknown';
  // Control bytes other than whitespace mean binary data we do not know.
  for (const b of head) if (b < 0x09 || (b > 0x0d && b < 0x20)) return 'unknown';
  const text = head.toString('utf8').replace(/^\uFEFF/, '').trimStart().toLowerCase();
  if (text.includes('<svg')) return 'svg';
  if (text.startsWith('<!doctype html') || text.startsWith('<html')) return 'html';
  if (text.startsWith('<?xml')) return 'xml';
  return 'text';
}

/**
 * Whether a PNG is animated (APNG): an `acTL` chunk before the first `IDAT`. libvips
 * loads only the default image of an APNG, so sharp's `pages` does not reveal it.
 */
export function isAnimatedPng(buf: Buffer): boolean {
  let offset = 8;
  while (offset + 8 <= buf.length) {
    const length = buf.readUInt32BE(offset);
    const type = ascii(buf, offset + 4, offset + 8);
    if (type === 'acTL') return true;
    if (type === 'IDAT' || type === 'IEND') return false;
    offset += 12 + length;
  }
  return false;
}
