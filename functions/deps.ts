import type { Logger } from '../shared/logger.js';
import type { StatusStore } from '../shared/status-store.js';

/**
 * The few operations the handlers need from the outside world. Adapters in gcp.ts
 * implement them with the official clients; tests pass hand-written fakes.
 */

export interface Clock {
  now(): Date;
}

export interface OutgoingMessage {
  data: Buffer;
  attributes?: Record<string, string>;
}

export interface Publisher {
  /** Resolves with the message id once Pub/Sub has accepted the message; rejects otherwise. */
  publish(topic: string, message: OutgoingMessage): Promise<string>;
}

export interface ObjectRead {
  body: Buffer;
  /** True when the object holds more than the `maxBytes` that were read. */
  truncated: boolean;
}

export interface SignedUrlRequest {
  bucket: string;
  name: string;
  method: 'PUT' | 'GET';
  expiresAt: Date;
  contentType?: string;
  /** Signed headers the client must send verbatim (x-goog-content-length-range, x-goog-meta-*). */
  extensionHeaders?: Record<string, string>;
}

export interface Objects {
  /** Read one generation, at most `maxBytes` (+1 to detect excess); undefined when it is gone. */
  read(bucket: string, name: string, generation: string, maxBytes: number): Promise<ObjectRead | undefined>;
  /** The live generation of an object, or undefined when none exists (a newer PUT may have replaced the one an event names). */
  liveGeneration(bucket: string, name: string): Promise<string | undefined>;
  /** A V4 signed URL. */
  signedUrl(request: SignedUrlRequest): Promise<string>;
}

export interface Deps {
  objects: Objects;
  publisher: Publisher;
  statusStore: StatusStore;
  clock: Clock;
  logger: Logger;
}

export const systemClock: Clock = { now: () => new Date() };
