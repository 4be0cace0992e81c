import type { PubSub } from '@google-cloud/pubsub';
import type { Storage } from '@google-cloud/storage';
import type { BlobStore, ObjectMetadata, TopicPublisher } from './ports.js';

/** Adapters from the ports to the official clients; the emulators are reached through the clients' own env vars. */

function httpCode(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
}

// The client checks every transfer against the server's hash, by default CRC32C computed in
// JavaScript: about 20 ms per MB on the event loop, a quarter of a second for one job's
// outputs. MD5 is native (about 2 ms per MB) and every object a simple upload writes has one,
// so transfers are checked as strictly at a tenth of the cost. Composite objects have no
// MD5: a read of one falls back to CRC32C.
const VALIDATION = 'md5';

// Results are deterministic per job name, but a redelivered job rewrites them: keep edge
// caches from serving a torn first attempt for long.
const OUTPUT_CACHE_CONTROL = 'private, max-age=300';

export function gcsBlobStore(storage: Storage): BlobStore {
  return {
    async read(bucket, name, generation) {
      // Generations are microsecond timestamps (about 1.7e15), well inside a double's 2^53.
      const file = storage.bucket(bucket).file(name, generation ? { generation: Number(generation) } : {});
      try {
        const [bytes] = await file.download({ validation: VALIDATION });
        return bytes;
      } catch (err) {
        if (httpCode(err) !== 'MD5_NOT_AVAILABLE') throw err;
        const [bytes] = await file.download({ validation: 'crc32c' });
        return bytes;
      }
    },
    async stat(bucket, name): Promise<ObjectMetadata | undefined> {
      try {
        const [m] = await storage.bucket(bucket).file(name).getMetadata();
        return {
          generation: String(m.generation),
          size: Number(m.size ?? 0),
          ...(typeof m.md5Hash === 'string' ? { md5Hash: m.md5Hash } : {}),
          ...(typeof m.contentType === 'string' ? { contentType: m.contentType } : {}),
        };
      } catch (err) {
        if (httpCode(err) === 404) return undefined;
        throw err;
      }
    },
    async write(bucket, name, data, contentType) {
      // One request instead of the resumable two: outputs are a few MB at most.
      await storage.bucket(bucket).file(name).save(data, { resumable: false, validation: VALIDATION, contentType, metadata: { cacheControl: OUTPUT_CACHE_CONTROL } });
    },
    async copy(bucket, from, to) {
      const b = storage.bucket(bucket);
      await b.file(from).copy(b.file(to));
    },
  };
}

// Completion events should leave at once (a storefront waits on them), not sit in the
// client's default 10 ms batch window.
const PUBLISH_BATCH_WAIT_MS = 1;

export function pubsubPublisher(pubsub: PubSub, topic: string): TopicPublisher {
  const t = pubsub.topic(topic, { batching: { maxMessages: 100, maxMilliseconds: PUBLISH_BATCH_WAIT_MS } });
  return { publishMessage: (m) => t.publishMessage({ data: m.data, attributes: m.attributes }) };
}
