// Streams a request body into a temp file while computing its size, CRC32C and MD5, so an
// object of any size costs a fixed amount of memory. The temp file lives next to the store
// so the final commit is a same-filesystem rename (atomic).
import { createHash, type Hash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { once } from 'node:events';
import { crc32cToBase64, crc32cUpdate } from './crc32c.js';
import { GcsError } from './errors.js';

export interface Digest {
  size: number;
  /** base64 of the big-endian CRC32C */
  crc32c: string;
  /** base64 of the MD5 */
  md5Hash: string;
}

export interface SizeLimit {
  min: number;
  max: number;
}

export class BodySink {
  private readonly out: WriteStream;
  private readonly md5: Hash = createHash('md5');
  private crc = 0;
  private bytes = 0;
  private failed: Error | undefined;

  constructor(
    readonly path: string,
    private readonly limit?: SizeLimit,
  ) {
    this.out = createWriteStream(path, { flags: 'w' });
    // Remember a write failure (disk full, ...) and surface it on the next write or finish.
    this.out.on('error', (err) => {
      this.failed = err;
    });
  }

  get size(): number {
    return this.bytes;
  }

  /** Hashes and appends `chunk`; waits for the disk when the write buffer is full. */
  async write(chunk: Buffer): Promise<void> {
    if (this.failed) throw this.failed;
    if (this.limit && this.bytes + chunk.length > this.limit.max) {
      throw new GcsError(400, 'invalid', `Body is larger than the signed maximum of ${this.limit.max} bytes.`, 'EntityTooLarge');
    }
    this.bytes += chunk.length;
    this.crc = crc32cUpdate(this.crc, chunk);
    this.md5.update(chunk);
    if (!this.out.write(chunk)) {
      // events.once rejects if 'error' fires first, so a dead disk cannot hang the upload.
      await once(this.out, 'drain');
    }
  }

  /** Flushes and closes the file; returns the digest of everything written. */
  async finish(): Promise<Digest> {
    if (this.limit && this.bytes < this.limit.min) {
      throw new GcsError(400, 'invalid', `Body is smaller than the signed minimum of ${this.limit.min} bytes.`, 'EntityTooSmall');
    }
    await new Promise<void>((resolve, reject) => {
      this.out.end((err?: Error | null) => (err ? reject(err) : resolve()));
    });
    if (this.failed) throw this.failed;
    return { size: this.bytes, crc32c: crc32cToBase64(this.crc), md5Hash: this.md5.digest('base64') };
  }

  /** Closes and deletes the temp file; safe to call more than once. */
  async abort(): Promise<void> {
    if (!this.out.closed) {
      this.out.destroy();
      await once(this.out, 'close').catch(() => undefined);
    }
    await rm(this.path, { force: true });
  }
}
