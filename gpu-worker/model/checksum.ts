import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { PermanentError } from '../../shared/errors.js';

/**
 * sha256 of a file, streamed so a 200 MB model never sits in memory twice.
 * @example await sha256File('.cache/models/isnet.onnx') // 'b6e8...'
 */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** sha256 of bytes in memory. @example sha256Hex(Buffer.from('a')) */
export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Throw the startup error (code `model_checksum`) that names both digests.
 * @example assertChecksum('/m.onnx', expected, await sha256File('/m.onnx'))
 */
export function assertChecksum(what: string, expected: string, actual: string): void {
  if (expected.toLowerCase() !== actual.toLowerCase()) {
    throw new PermanentError('model_checksum', `checksum mismatch for ${what}: expected sha256 ${expected.toLowerCase()}, got ${actual}`);
  }
}
