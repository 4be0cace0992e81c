import type { JobMessage } from '../../schemas/job.js';
import type { Logger } from '../../shared/logger.js';
import { encodeJobMessage, isTerminal } from '../../shared/job/index.js';
import type { StatusStore } from '../../shared/status-store.js';
import type { Delivery, TopicPublisher } from './ports.js';
import { EVENTS } from '../log-events.js';

/**
 * Deliveries that never reached a live handler must not use up a good job's attempts.
 *
 * Pub/Sub counts deliveries, not work: a worker killed outright (OOM, a host that goes away,
 * SIGKILL) costs the deliveries it held, and a stream that breaks costs the ones in flight on
 * it (the official emulator even keeps sending to a killed client's stream for a while:
 * test/localcloud/README.md). After `maxDeliveryAttempts` Pub/Sub dead-letters the message and
 * onDeadLetter fails the job `dead_lettered`, although the job itself may have run once or
 * never. The job's own count is in its status document: `attempts`, raised by the worker's
 * compare-and-swap each time it really starts (`toProcessing`).
 *
 * So a delivery that comes near the limit (attempt >= max - 1) to a live handler, for a job
 * that started fewer times than its message was delivered (deliveries were lost, not failed),
 * is put back on the jobs topic as a fresh message (a fresh delivery budget) and acked. A job
 * whose deliveries all started it (its own attempts are spent) goes on as before, to the
 * dead-letter topic and onDeadLetter, which stays the one writer of `dead_lettered`. The
 * status compare-and-swap keeps a repeated message harmless (one ending, one event id).
 *
 * Bounds: a republished message carries how often its job was republished and the job's
 * `attempts` at that moment, so the lost deliveries are counted per message, and a job is
 * republished at most MAX_REPUBLISHES times: it gets at most (MAX_REPUBLISHES + 1) x max
 * deliveries in all, whatever happens to them.
 */

/** How many times the job's message was put back on the topic before this one. */
export const REPUBLISHED_ATTRIBUTE = 'petcutout-republished';
/** The job's `attempts` when this message was published (0 for the original). */
export const ATTEMPTS_BEFORE_ATTRIBUTE = 'petcutout-attempts-before';
export const MAX_REPUBLISHES = 3;

export interface RedeliveryFacts {
  /** Pub/Sub's count for this message, 1-based; 0 when the subscription has no dead-letter policy. */
  deliveryAttempt: number;
  maxDeliveryAttempts: number;
  /** The status document's `attempts`: the job's real starts, all messages together. */
  jobAttempts: number;
  /** The job's `attempts` when this message was published. */
  attemptsBefore: number;
  /** Times the job's message was republished before this one. */
  republished: number;
  /** The job has ended (the normal path acks it). */
  ended: boolean;
}

export type RedeliveryDecision =
  | { republish: true; lost: number }
  | { republish: false; why: 'no_dead_letter_policy' | 'not_near_limit' | 'ended' | 'own_attempts' | 'republish_limit'; lost: number };

/**
 * Whether this delivery should be replaced by a fresh message: near the limit, with
 * deliveries of this message that started nothing, within the republish bound.
 * @example redeliveryDecision({ deliveryAttempt: 4, maxDeliveryAttempts: 5, jobAttempts: 1, attemptsBefore: 0, republished: 0, ended: false }) // { republish: true, lost: 2 }
 */
export function redeliveryDecision(f: RedeliveryFacts): RedeliveryDecision {
  // Deliveries of this message before this one that never made the job start.
  const lost = Math.max(0, f.deliveryAttempt - 1 - Math.max(0, f.jobAttempts - f.attemptsBefore));
  if (f.deliveryAttempt <= 0) return { republish: false, why: 'no_dead_letter_policy', lost: 0 };
  // One spare: if this delivery is lost too, the next (the last) still gets the chance.
  if (f.deliveryAttempt < f.maxDeliveryAttempts - 1) return { republish: false, why: 'not_near_limit', lost };
  if (f.ended) return { republish: false, why: 'ended', lost };
  if (lost === 0) return { republish: false, why: 'own_attempts', lost };
  if (f.republished >= MAX_REPUBLISHES) return { republish: false, why: 'republish_limit', lost };
  return { republish: true, lost };
}

/** A counter attribute; anything but a small non-negative integer reads as 0. */
export function counterAttribute(attributes: Readonly<Record<string, string>>, name: string): number {
  const raw = attributes[name];
  return raw !== undefined && /^\d{1,6}$/.test(raw) ? Number(raw) : 0;
}

export interface RedeliveryDeps {
  statusStore: StatusStore;
  /** The jobs topic; absent: never republish (deliveries go on to the dead-letter path). */
  jobs?: TopicPublisher;
  maxDeliveryAttempts: number;
}

/**
 * Republishes the job's message when `redeliveryDecision` says so. Resolves true when a
 * fresh message is on the topic (ack this delivery), false to handle this one as usual; any
 * error (status read, publish) is logged and answers false: the usual path is always safe.
 */
export async function republishIfDeliveriesLost(deps: RedeliveryDeps, msg: JobMessage, delivery: Delivery, log: Logger): Promise<boolean> {
  // Most deliveries stop here, before any read.
  if (!deps.jobs || delivery.deliveryAttempt < deps.maxDeliveryAttempts - 1) return false;
  try {
    const stored = await deps.statusStore.get(msg.jobId);
    // A document that names another generation: the message is superseded, the usual path says so.
    if (!stored || (stored.doc.source.generation !== undefined && stored.doc.source.generation !== msg.source.generation)) return false;
    const republished = counterAttribute(delivery.attributes, REPUBLISHED_ATTRIBUTE);
    const decision = redeliveryDecision({
      deliveryAttempt: delivery.deliveryAttempt,
      maxDeliveryAttempts: deps.maxDeliveryAttempts,
      jobAttempts: stored.doc.attempts,
      attemptsBefore: counterAttribute(delivery.attributes, ATTEMPTS_BEFORE_ATTRIBUTE),
      republished,
      ended: isTerminal(stored.doc.state),
    });
    if (!decision.republish) return false;
    const fresh = encodeJobMessage(msg);
    const messageId = await deps.jobs.publishMessage({
      data: fresh.data,
      attributes: { ...fresh.attributes, [REPUBLISHED_ATTRIBUTE]: String(republished + 1), [ATTEMPTS_BEFORE_ATTRIBUTE]: String(stored.doc.attempts) },
    });
    log.warn(
      { event: EVENTS.delivery.republished, lost: decision.lost, jobAttempts: stored.doc.attempts, republished: republished + 1, newMessageId: messageId },
      `${decision.lost} deliveries of this job never started it: republished as a fresh message so they cannot dead-letter it`,
    );
    return true;
  } catch (err) {
    log.warn({ event: EVENTS.delivery.republish_failed, err }, 'could not republish a job whose deliveries were lost: handling this delivery as usual');
    return false;
  }
}
