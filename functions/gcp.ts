import { PubSub, type Topic } from '@google-cloud/pubsub';
import { Storage } from '@google-cloud/storage';
import { storageOptions } from '../shared/config.js';
import { createLogger } from '../shared/logger.js';
import { createStatusStore, gcsDocObjects } from '../shared/status-store.js';
import type { FunctionsConfig } from './config.js';
import { systemClock, type Deps, type Objects, type Publisher } from './deps.js';

/**
 * Adapters over the official clients. Locally they reach the emulators through
 * STORAGE_EMULATOR_HOST / PUBSUB_EMULATOR_HOST; in production, signing goes through the
 * IAM signBlob API as the function's own service account (which therefore needs
 * roles/iam.serviceAccountTokenCreator on itself), and locally through the private key in
 * the throwaway key file named by GOOGLE_APPLICATION_CREDENTIALS.
 */
export function gcsObjects(storage: Storage): Objects {
  return {
    async read(bucket, name, generation, maxBytes) {
      try {
        // One byte past the limit tells "exactly at the limit" from "over it".
        const [body] = await storage.bucket(bucket).file(name, { generation }).download({ start: 0, end: maxBytes });
        return { body, truncated: body.length > maxBytes };
      } catch (err) {
        if ((err as { code?: unknown }).code === 404) return undefined;
        throw err;
      }
    },
    async liveGeneration(bucket, name) {
      try {
        const [metadata] = await storage.bucket(bucket).file(name).getMetadata();
        return String(metadata.generation);
      } catch (err) {
        if ((err as { code?: unknown }).code === 404) return undefined;
        throw err;
      }
    },
    async signedUrl(request) {
      const [url] = await storage
        .bucket(request.bucket)
        .file(request.name)
        .getSignedUrl({
          version: 'v4',
          action: request.method === 'PUT' ? 'write' : 'read',
          expires: request.expiresAt,
          ...(request.contentType ? { contentType: request.contentType } : {}),
          ...(request.extensionHeaders ? { extensionHeaders: request.extensionHeaders } : {}),
        });
      return url;
    },
  };
}

export function pubsubPublisher(pubsub: PubSub): Publisher {
  const topics = new Map<string, Topic>();
  return {
    publish(topicName, message) {
      let topic = topics.get(topicName);
      if (!topic) {
        // A function publishes one or two messages per invocation: do not hold them for a batch.
        topic = pubsub.topic(topicName, { batching: { maxMessages: 1, maxMilliseconds: 0 } });
        topics.set(topicName, topic);
      }
      return topic.publishMessage({ data: message.data, ...(message.attributes ? { attributes: message.attributes } : {}) });
    },
  };
}

/** Production dependencies, built once per instance from the parsed configuration. */
export function gcpDeps(config: FunctionsConfig): Deps {
  const storage = new Storage(storageOptions(config));
  const pubsub = new PubSub({ projectId: config.GOOGLE_CLOUD_PROJECT });
  return {
    objects: gcsObjects(storage),
    publisher: pubsubPublisher(pubsub),
    statusStore: createStatusStore(gcsDocObjects(storage.bucket(config.RESULTS_BUCKET))),
    clock: systemClock,
    logger: createLogger({ component: 'functions', level: config.LOG_LEVEL, projectId: config.GOOGLE_CLOUD_PROJECT }),
  };
}
