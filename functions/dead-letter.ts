import { DEAD_LETTERED, deadLetteredByWorker, failedFromMessage, forGeneration, readJobMessage, toFailed } from '../shared/job/index.js';
import { jobError } from '../shared/messages.js';
import type { JobStatus } from '../schemas/status.js';
import type { StoredStatus } from '../shared/status-store.js';
import type { Deps } from './deps.js';
import { PubSubPublishedEvent } from './events.js';
import { COMPLETION_PUBLISHED_LABEL, publishCompletion } from './publish.js';
import { EVENTS } from './log-events.js';

export interface DeadLetterSettings {
  completionsTopic: string;
}

export type DeadLetterOutcome = 'ignored' | 'failed' | 'already_terminal' | 'republished' | 'superseded';

const DELIVERY_COUNT_ATTRIBUTE = 'CloudPubSubDeadLetterSourceDeliveryCount';

/**
 * onDeadLetter: a JobMessage the worker could not finish in N deliveries. Record the job
 * as `failed` (unless it already ended) and tell subscribers. Idempotent: the CAS update
 * moves the job once; the completion event is re-sent only while the document lacks the
 * label saying it went out, and its id is deterministic so subscribers deduplicate.
 *
 * Only what Pub/Sub dead-lettered is ours. A message the worker put there itself (an
 * unreadable one that no job could record) carries the worker's reason attribute and is
 * left for the review subscription: the worker owns unreadable messages (see shared/job).
 */
export function createDeadLetterHandler(deps: Deps, settings: DeadLetterSettings): (event: unknown) => Promise<DeadLetterOutcome> {
  const baseLog = deps.logger.child({ handler: 'onDeadLetter' });

  return async (raw) => {
    const parsed = PubSubPublishedEvent.safeParse(raw);
    if (!parsed.success) {
      baseLog.error({ event: EVENTS.deadletter.invalid_event, issues: parsed.error.issues }, 'ignoring an event that is not a Pub/Sub message');
      return 'ignored';
    }
    const { message } = parsed.data.data;
    if (deadLetteredByWorker(message.attributes)) {
      baseLog.info({ event: EVENTS.deadletter.worker_owned, messageId: message.messageId }, 'the worker dead-lettered this unreadable message itself; left for the review subscription');
      return 'ignored';
    }
    const read = readJobMessage(Buffer.from(message.data ?? '', 'base64'));
    // A message that is not a valid JobMessage may still name its job: fail that job rather than lose it.
    const jobId = read.ok ? read.message.jobId : read.jobId;
    if (jobId === undefined) {
      baseLog.error({ event: EVENTS.deadletter.unparseable, messageId: message.messageId }, 'dead-lettered message names no job; acknowledging');
      return 'ignored';
    }
    const attempts = Number(message.attributes?.[DELIVERY_COUNT_ATTRIBUTE] ?? '0') || 0;
    const log = baseLog.child({ jobId, messageId: message.messageId, deliveryCount: attempts });
    const now = deps.clock.now();
    // The shopper reads the sentence for the code; what happened, for operators, is the detail.
    const error = jobError(DEAD_LETTERED, `processing did not succeed after ${attempts || 'several'} delivery attempts; the job was dead-lettered`, false);

    let stored: StoredStatus;
    let changed: boolean;
    const fail = (doc: JobStatus): JobStatus | undefined => toFailed(doc, error, now, attempts);
    // A readable message acts for its generation only: a retried upload's newer generation owns the job.
    const updated = await deps.statusStore.update(jobId, read.ok ? forGeneration(read.message.source.generation, fail) : fail);
    if (updated && read.ok && updated.stored.doc.source.generation !== undefined && updated.stored.doc.source.generation !== read.message.source.generation) {
      log.info({ event: EVENTS.deadletter.superseded, jobGeneration: updated.stored.doc.source.generation }, 'the job follows a newer upload of its source; this message is not its own');
      return 'superseded';
    }
    if (updated) {
      ({ stored, changed } = updated);
    } else if (read.ok) {
      // No document (it should exist): create the failed one from the message itself.
      const created = await deps.statusStore.create(failedFromMessage(read.message, error, attempts, now));
      stored = created.stored;
      changed = created.created;
    } else {
      log.error({ event: EVENTS.deadletter.no_document }, 'no status document and no usable message; acknowledging');
      return 'ignored';
    }

    const ours = stored.doc.state === 'failed' && stored.doc.error?.code === DEAD_LETTERED;
    if (!ours || (!changed && stored.labels[COMPLETION_PUBLISHED_LABEL])) {
      log.info({ event: EVENTS.deadletter.already_terminal, state: stored.doc.state }, 'job already ended; nothing to do');
      return 'already_terminal';
    }
    const messageId = await publishCompletion(deps.publisher, settings.completionsTopic, stored.doc);
    try {
      await deps.statusStore.label(jobId, { [COMPLETION_PUBLISHED_LABEL]: messageId });
    } catch (err) {
      log.warn({ event: EVENTS.deadletter.label_failed, err }, 'completion published, but could not record it');
    }
    log.warn({ event: EVENTS.job.failed, code: 'dead_lettered' }, 'job marked failed after dead-lettering');
    return changed ? 'failed' : 'republished';
  };
}
