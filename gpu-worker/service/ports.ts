/**
 * The I/O the job handler needs, as small interfaces so unit tests pass hand-written fakes
 * and main.ts passes the adapters over the official clients.
 */

/** One Pub/Sub delivery, whichever way it arrived (streaming pull or push). */
export interface Delivery {
  data: Buffer;
  attributes: Readonly<Record<string, string>>;
  messageId: string;
  /** 1 on first delivery; 0 when the subscription has no dead-letter policy. */
  deliveryAttempt: number;
}

export type Verdict = 'ack' | 'nack';

export interface ObjectMetadata {
  generation: string;
  size: number;
  md5Hash?: string;
  contentType?: string;
}

export interface BlobStore {
  /** Reads one exact generation (or the live one); rejects with a 404-coded error when absent. */
  read(bucket: string, name: string, generation?: string): Promise<Buffer>;
  /** Live generation's metadata, or undefined when the object does not exist. */
  stat(bucket: string, name: string): Promise<ObjectMetadata | undefined>;
  write(bucket: string, name: string, data: Buffer, contentType: string): Promise<void>;
  copy(bucket: string, from: string, to: string): Promise<void>;
}

export interface PubSubMessageOut {
  data: Buffer;
  attributes: Record<string, string>;
}

/** One topic, bound at construction (the official client's `Topic`, narrowed). */
export interface TopicPublisher {
  /** Resolves with the message id once Pub/Sub has accepted the message. */
  publishMessage(message: PubSubMessageOut): Promise<string>;
}
