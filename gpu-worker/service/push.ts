import type { Request, Response } from 'express';
import { z } from 'zod';
import { formatZodError } from '../../schemas/parse.js';
import type { Logger } from '../../shared/logger.js';
import type { Dispatcher } from './dispatcher.js';
import type { Delivery } from './ports.js';
import type { Readiness } from './readiness.js';
import { EVENTS } from '../log-events.js';

/**
 * The Pub/Sub push envelope. Pub/Sub sends both `messageId` and `message_id` (and the same
 * for publishTime); either is accepted.
 */
export const PushEnvelope = z.object({
  message: z
    .object({
      data: z.base64().optional(),
      attributes: z.record(z.string(), z.string()).optional(),
      messageId: z.string().min(1).optional(),
      message_id: z.string().min(1).optional(),
      publishTime: z.string().optional(),
      orderingKey: z.string().optional(),
    })
    .refine((m) => m.messageId !== undefined || m.message_id !== undefined, { error: 'messageId is required', path: ['messageId'] }),
  subscription: z.string().min(1),
  deliveryAttempt: z.number().int().nonnegative().optional(),
});
export type PushEnvelope = z.infer<typeof PushEnvelope>;

export function deliveryFromEnvelope(envelope: PushEnvelope): Delivery {
  const m = envelope.message;
  return {
    data: Buffer.from(m.data ?? '', 'base64'),
    attributes: m.attributes ?? {},
    messageId: m.messageId ?? m.message_id ?? '',
    deliveryAttempt: envelope.deliveryAttempt ?? 0,
  };
}

// Seconds a push sender should wait before retrying while we load or drain. Pub/Sub
// ignores it (its retry policy decides) but other senders and people reading logs do not.
const RETRY_AFTER_S = 5;

/**
 * `POST /pubsub/push`: 2xx acks, anything else nacks. A body that is not a push envelope
 * did not come from Pub/Sub, so it gets a 400 and no further thought; an envelope whose
 * data is not a JobMessage is the handler's business (dead-lettered and acked), so a bad
 * message is never retried forever.
 */
export function createPushHandler(deps: { dispatcher: Dispatcher; readiness: Readiness; log: Logger }) {
  return async (req: Request, res: Response): Promise<void> => {
    if (deps.dispatcher.isDraining || !deps.readiness.isReady) {
      res.status(503).set('Retry-After', String(RETRY_AFTER_S)).json({ error: deps.dispatcher.isDraining ? 'shutting down' : 'model not ready' });
      return;
    }
    const parsed = PushEnvelope.safeParse(req.body);
    if (!parsed.success) {
      const reason = formatZodError(parsed.error);
      deps.log.warn({ event: EVENTS.push.bad_envelope, reason }, 'rejected a body that is not a Pub/Sub push envelope');
      res.status(400).json({ error: `not a Pub/Sub push envelope: ${reason}` });
      return;
    }
    const verdict = await deps.dispatcher.dispatch(deliveryFromEnvelope(parsed.data));
    if (verdict === 'ack') res.status(204).end();
    else res.status(503).set('Retry-After', String(RETRY_AFTER_S)).json({ error: 'job not finished; redeliver' });
  };
}
