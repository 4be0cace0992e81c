import { JobMessage } from '../../schemas/job.js';
import { formatZodError } from '../../schemas/parse.js';
import type { Delivery } from './ports.js';

export type ParsedDelivery = { ok: true; message: JobMessage } | { ok: false; reason: string };

/** Pub/Sub data -> JobMessage, never throwing: a bad message is a value to dead-letter, not a crash. */
export function parseJobMessage(delivery: Delivery): ParsedDelivery {
  let raw: unknown;
  try {
    raw = JSON.parse(delivery.data.toString('utf8'));
  } catch (err) {
    return { ok: false, reason: `data is not JSON: ${(err as Error).message}` };
  }
  const result = JobMessage.safeParse(raw);
  if (!result.success) return { ok: false, reason: `invalid JobMessage: ${formatZodError(result.error)}` };
  return { ok: true, message: result.data };
}

/** Attributes added when the worker itself dead-letters a message it cannot read. */
export function deadLetterAttributes(delivery: Delivery, reason: string): Record<string, string> {
  return {
    ...delivery.attributes,
    'petcutout-dead-letter-reason': 'invalid_message',
    'petcutout-dead-letter-detail': reason.slice(0, 1024),
    'petcutout-original-message-id': delivery.messageId,
  };
}
