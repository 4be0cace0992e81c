// Pure naming rules: how bucket and object names are validated and mapped to file names.
import { createHash } from 'node:crypto';
import { badRequest } from './errors.js';

const BUCKET_NAME = /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/;

export function assertBucketName(name: string): void {
  if (!BUCKET_NAME.test(name)) throw badRequest(`Invalid bucket name: '${name}'`);
}

export function assertObjectName(name: string): void {
  if (name.length === 0) throw badRequest('Object name is required.', 'required');
  if (Buffer.byteLength(name) > 1024 || /[\r\n]/.test(name) || name === '.' || name === '..') {
    throw badRequest(`Invalid object name: '${name.slice(0, 64)}'`);
  }
}

// Linux file names stop at 255 bytes; longer encodings get a digest. encodeURIComponent never
// emits "%%", so the marker cannot collide with an encoded name.
const MAX_ENCODED = 200;
const HASHED_MARKER = '%%';

/** Object name -> one safe file name component (no '/', no leading '.'). */
export function encodeObjectFileName(name: string): string {
  const encoded = encodeURIComponent(name).replace(/^\./, '%2E');
  if (encoded.length <= MAX_ENCODED) return encoded;
  return HASHED_MARKER + createHash('sha256').update(name).digest('hex');
}

/** The object name for a file name, or undefined when it was hashed (read the sidecar then). */
export function decodeObjectFileName(fileName: string): string | undefined {
  if (fileName.startsWith(HASHED_MARKER)) return undefined;
  return decodeURIComponent(fileName);
}

let lastGeneration = 0;

/** Generations are microseconds since the epoch, strictly increasing within the process. */
export function nextGeneration(nowMs: number = Date.now()): string {
  lastGeneration = Math.max(nowMs * 1000, lastGeneration + 1);
  return String(lastGeneration);
}
