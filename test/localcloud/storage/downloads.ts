// Media downloads (`alt=media` on the JSON API, GET on the XML API). The file is opened
// before headers are sent so a concurrent overwrite cannot swap bytes under us, and it is
// streamed, so memory does not grow with object size.
import { open, type FileHandle } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { notFound } from './errors.js';
import { parseRange } from './http-util.js';
import type { ObjectStore } from './store.js';
import type { ObjectMeta } from './types.js';

// Bigger reads than the 64 KiB default halve the per-chunk overhead on large objects while
// keeping memory per download small and fixed.
const READ_CHUNK_BYTES = 1024 * 1024;

async function openLive(store: ObjectStore, bucket: string, name: string, generation: string | null): Promise<{ meta: ObjectMeta; file: FileHandle }> {
  // One retry: an overwrite between reading the sidecar and opening the bytes removes the old file.
  for (let attempt = 0; ; attempt++) {
    const meta = await store.getObject(bucket, name, generation);
    try {
      return { meta, file: await open(store.dataPath(meta), 'r') };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      if (attempt >= 1) throw notFound(`No such object: ${bucket}/${name}`);
    }
  }
}

/** Headers Cloud Storage sends with object bytes; the client validates against `x-goog-hash`. */
export function mediaHeaders(meta: ObjectMeta): Record<string, string> {
  const headers: Record<string, string> = {
    'Content-Type': meta.contentType ?? 'application/octet-stream',
    'x-goog-hash': `crc32c=${meta.crc32c},md5=${meta.md5Hash}`,
    'x-goog-generation': meta.generation,
    'x-goog-metageneration': meta.metageneration,
    'x-goog-stored-content-encoding': meta.contentEncoding ?? 'identity',
    'x-goog-stored-content-length': meta.size,
    'x-goog-storage-class': meta.storageClass,
    ETag: `"${Buffer.from(meta.md5Hash, 'base64').toString('hex')}"`,
    'Last-Modified': new Date(meta.updated).toUTCString(),
    'Accept-Ranges': 'bytes',
  };
  if (meta.contentEncoding) headers['Content-Encoding'] = meta.contentEncoding;
  if (meta.cacheControl) headers['Cache-Control'] = meta.cacheControl;
  if (meta.contentDisposition) headers['Content-Disposition'] = meta.contentDisposition;
  if (meta.contentLanguage) headers['Content-Language'] = meta.contentLanguage;
  for (const [k, v] of Object.entries(meta.metadata ?? {})) headers[`x-goog-meta-${k}`] = v;
  return headers;
}

export async function sendMedia(
  req: IncomingMessage,
  res: ServerResponse,
  store: ObjectStore,
  target: { bucket: string; name: string; generation: string | null },
  extraHeaders: Record<string, string> = {},
): Promise<void> {
  const { meta, file } = await openLive(store, target.bucket, target.name, target.generation);
  try {
    const size = Number(meta.size);
    const range = parseRange(req.headers.range, size);
    const headers = { ...mediaHeaders(meta), ...extraHeaders };
    if (range) {
      res.writeHead(206, {
        ...headers,
        'Content-Length': String(range.end - range.start + 1),
        'Content-Range': `bytes ${range.start}-${range.end}/${size}`,
      });
    } else {
      res.writeHead(200, { ...headers, 'Content-Length': String(size) });
    }
    if (req.method === 'HEAD' || size === 0) {
      res.end();
      return;
    }
    const stream = file.createReadStream({ start: range?.start ?? 0, end: range?.end ?? size - 1, autoClose: false, highWaterMark: READ_CHUNK_BYTES });
    await pipeline(stream, res);
  } finally {
    await file.close();
  }
}
