import type { PubSub } from '@google-cloud/pubsub';
import type { Storage } from '@google-cloud/storage';
import type { BlobStore, ObjectMetadata, Publisher } from './ports.js';

/** Adapters from the ports to the official clients; the emulators are reached through the clients' own env vars. */

function httpCode(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
}

// Results are deterministic per job name, but a redelivered job rewrites them: keep edge
// caches from serving a torn first attempt for long.
const OUTPUT_CACHE_CONTROL = 'private, max-age=300';

export function gcsBlobStore(storage: Storage): BlobStore {
  return {
    async read(bucket, name, generation) {
      // Generations are microsecond timestamps (about 1.7e15), well inside a double's 2^53.
      const file = storage.bucket(bucket).file(name, generation ? { generation: Number(generation) } : {});
      const [bytes] = await file.download();
      return bytes;
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
      await storage.bucket(bucket).file(name).save(data, { resumable: false, contentType, metadata: { cacheControl: OUTPUT_CACHE_CONTROL } });
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

export function pubsubPublisher(pubsub: PubSub, topic: string): Publisher {
  const t = pubsub.topic(topic, { batching: { maxMessages: 100, maxMilliseconds: PUBLISH_BATCH_WAIT_MS } });
  return { publish: (m) => t.publishMessage({ data: m.data, attributes: m.attributes }) };
}
