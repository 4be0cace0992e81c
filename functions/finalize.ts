import { ACCEPTED_CONTENT_TYPES, TRACEPARENT, type AcceptedContentType } from '../schemas/common.js';
import type { JobStatus } from '../schemas/status.js';
import type { PermanentCode } from '../shared/errors.js';
import { generationStanding, isTerminal, jobForObject, jobMessageFor, newStatus, supersededBy, toNewerSource } from '../shared/job/index.js';
import type { Logger } from '../shared/logger.js';
import { jobError } from '../shared/messages.js';
import type { StoredStatus } from '../shared/status-store.js';
import type { Deps } from './deps.js';
import { FinalizedEvent, type StorageObjectData } from './events.js';
import { COMPLETION_PUBLISHED_LABEL, JOB_PUBLISHED_LABEL, publishCompletion, publishJob } from './publish.js';
import { clientRefFrom, outputsFrom } from './upload-metadata.js';
import { validateImage, type ImageLimits } from './validate-image.js';
import { EVENTS } from './log-events.js';

export interface FinalizeSettings {
  uploadsBucket: string;
  jobsTopic: string;
  completionsTopic: string;
  limits: ImageLimits;
}

/** What one delivery did; returned for tests and logs, ignored by the framework. */
export type FinalizeOutcome = 'ignored' | 'queued' | 'rejected' | 'duplicate' | 'republished' | 'superseded' | 'replaced' | 'too_late';

/**
 * onObjectFinalized: validate the new object and either queue a job or record a rejection.
 *
 * Delivery is at least once, so each step is safe to repeat:
 * - the status document is created create-only, so only one delivery creates it;
 * - after the JobMessage (or rejection event) is published, the document is labelled; a
 *   later delivery that finds a document without that label re-publishes, because the
 *   earlier delivery may have died between creating the document and publishing. The
 *   worker and completion subscribers deduplicate, so a rare double publish is harmless,
 *   while a lost one would leave the job `queued` forever.
 * Storage or Pub/Sub failures throw, so the platform redelivers; invalid input never does.
 *
 * A browser may PUT its signed URL more than once: each PUT is a newer generation of the
 * same upload, so of the same job, and the job follows the newest (shared/job/generations.ts):
 * - an event older than the document's generation, or whose generation is already gone
 *   because a newer one of the same job replaced it, is a no-op (`superseded`); the newer
 *   generation's own event owns the job, whichever order they arrive in;
 * - an event newer than the document's generation takes a job that has not ended over
 *   (`replaced`): the document names the newer source, back to `queued`, and the newer
 *   JobMessage is published (a worker holding the older one finds itself superseded);
 *   when the newer bytes are not an image the job is `rejected` with them;
 * - a job that has ended ignores a later PUT (`too_late`): its ending was announced and the
 *   ticket's slot is one-shot.
 */
export function createFinalizeHandler(deps: Deps, settings: FinalizeSettings): (event: unknown) => Promise<FinalizeOutcome> {
  const baseLog = deps.logger.child({ handler: 'onObjectFinalized' });

  return async (raw) => {
    const parsed = FinalizedEvent.safeParse(raw);
    if (!parsed.success) {
      // Redelivering a malformed event cannot fix it: log and acknowledge.
      baseLog.error({ event: EVENTS.finalize.invalid_event, issues: parsed.error.issues }, 'ignoring an event that is not an object-finalized event');
      return 'ignored';
    }
    const object = parsed.data.data;
    const target = jobForObject(object, settings.uploadsBucket);
    if (!target) {
      baseLog.debug({ event: EVENTS.finalize.ignored, bucket: object.bucket, object: object.name }, 'not an upload or batch drop');
      return 'ignored';
    }
    const { jobId, trigger } = target;
    const traceparent = parsed.data.traceparent !== undefined && TRACEPARENT.test(parsed.data.traceparent) ? parsed.data.traceparent : undefined;
    const log = baseLog.child({ jobId, object: object.name, generation: object.generation, eventId: parsed.data.id, ...(traceparent ? { traceparent } : {}) });

    // A redelivery usually finds the document already there: skip the download. So does an
    // event that a newer PUT superseded, or one that comes after the job ended.
    const existing = await deps.statusStore.get(jobId);
    if (existing && (generationStanding(existing.doc, object.generation) !== 'newer' || isTerminal(existing.doc.state))) {
      return settleExisting(existing, object, log, traceparent);
    }

    // Size limits are checked from the event first, so an oversized object is never downloaded.
    const skipRead = object.size === 0 || object.size > settings.limits.maxBytes;
    const read = skipRead
      ? { body: Buffer.alloc(0), truncated: false }
      : await deps.objects.read(object.bucket, object.name, object.generation, settings.limits.maxBytes);
    const now = deps.clock.now();
    const source = {
      bucket: object.bucket,
      name: object.name,
      generation: object.generation,
      ...(object.size > 0 ? { size: object.size } : {}),
      ...(object.md5Hash ? { md5Hash: object.md5Hash } : {}),
    };
    const outputsRequested = trigger === 'upload' ? outputsFrom(object.metadata) : outputsFrom(undefined);
    const clientRef = trigger === 'upload' ? clientRefFrom(object.metadata) : undefined;
    const common = { jobId, trigger, outputsRequested, ...(clientRef !== undefined ? { clientRef } : {}) };

    if (read === undefined) {
      // Gone already: replaced by a newer PUT of the same upload (whose event owns the job),
      // or deleted. Only the second is the upload's failure.
      const live = await deps.objects.liveGeneration(object.bucket, object.name);
      if (live !== undefined && supersededBy(object, live, jobId, settings.uploadsBucket)) {
        log.info({ event: EVENTS.finalize.superseded, liveGeneration: live }, 'this generation was replaced by a newer PUT before it could be read; the newer one owns the job');
        return 'superseded';
      }
      return reject({ ...common, source: withDeclaredType(source, object.contentType) }, 'source_missing', `object generation ${object.generation} no longer exists`);
    }
    const verdict = await validateImage(
      { body: read.body, size: object.size, declaredType: object.contentType, contentIsAuthoritative: trigger === 'batch' },
      settings.limits,
    );
    if (!verdict.ok) return reject({ ...common, source: withDeclaredType(source, object.contentType) }, verdict.code, verdict.detail);
    if (verdict.note) log.warn({ event: EVENTS.finalize.content_type_corrected, note: verdict.note }, 'declared type differs from content; content wins for batch drops');

    const doc = newStatus({ ...common, state: 'queued', source: { ...source, contentType: verdict.contentType, width: verdict.width, height: verdict.height } }, now);
    const placed = await place(doc, object, log, traceparent);
    if (placed === 'queued' || placed === 'replaced') log.info({ event: EVENTS.job.queued, trigger, width: verdict.width, height: verdict.height, replaced: placed === 'replaced' }, 'job queued');
    return placed;

    // `detail` is the technical reason (logged, and kept in the error for operators); the shopper reads shopperMessage(code).
    async function reject(fields: Pick<JobStatus, 'jobId' | 'trigger' | 'outputsRequested' | 'source' | 'clientRef'>, code: PermanentCode, detail: string): Promise<FinalizeOutcome> {
      log.warn({ event: EVENTS.job.rejected, code, trigger, size: object.size, contentType: object.contentType }, detail);
      const placed = await place(newStatus({ ...fields, state: 'rejected', error: jobError(code, detail, false) }, now), object, log, traceparent);
      return placed === 'replaced' ? 'rejected' : placed;
    }
  };

  /**
   * Stores the document built for this event's generation and publishes what it announces:
   * created when the job has none yet, else taking over a job that names an older generation
   * and has not ended. Anything else is the existing document's business (settleExisting).
   */
  async function place(doc: JobStatus, object: StorageObjectData, log: Logger, traceparent: string | undefined): Promise<FinalizeOutcome> {
    const created = await deps.statusStore.create(doc);
    if (created.created) {
      await publishAndLabel(created.stored.doc, log, traceparent);
      return doc.state === 'queued' ? 'queued' : 'rejected';
    }
    const now = deps.clock.now();
    const moved = await deps.statusStore.update(doc.jobId, (current) => toNewerSource(current, doc, now));
    if (!moved) throw new Error(`status document of ${doc.jobId} vanished`); // a retry creates it
    if (!moved.changed) return settleExisting(moved.stored, object, log, traceparent);
    log.warn({ event: EVENTS.finalize.replaced, jobGeneration: created.stored.doc.source.generation, state: doc.state }, 'a newer PUT of this upload takes the job over');
    await publishAndLabel(moved.stored.doc, log, traceparent);
    return 'replaced';
  }

  /** A document exists: finish whatever an earlier delivery may not have finished. */
  async function settleExisting(stored: StoredStatus, object: StorageObjectData, log: Logger, traceparent: string | undefined): Promise<FinalizeOutcome> {
    const { doc } = stored;
    const standing = generationStanding(doc, object.generation);
    if (standing === 'older') {
      log.info({ event: EVENTS.finalize.superseded, jobGeneration: doc.source.generation }, 'a newer PUT of this upload already owns the job');
      return 'superseded';
    }
    if (standing === 'newer') {
      // Only an ended job refuses a newer generation: the takeover is place()'s.
      log.warn({ event: EVENTS.finalize.too_late, jobGeneration: doc.source.generation, state: doc.state }, 'a PUT after the job ended: ignored, the upload slot is one-shot');
      return 'too_late';
    }
    const pending = (doc.state === 'queued' && !stored.labels[JOB_PUBLISHED_LABEL]) || (doc.state === 'rejected' && !stored.labels[COMPLETION_PUBLISHED_LABEL]);
    if (!pending) {
      log.info({ event: EVENTS.finalize.duplicate, state: doc.state }, 'duplicate delivery; nothing to do');
      return 'duplicate';
    }
    log.warn({ event: EVENTS.finalize.republish, state: doc.state }, 'document exists but its message may not have been published; publishing again');
    await publishAndLabel(doc, log, traceparent);
    return 'republished';
  }

  async function publishAndLabel(doc: JobStatus, log: Logger, traceparent: string | undefined): Promise<void> {
    const queued = doc.state === 'queued';
    const messageId = queued
      ? await publishJob(deps.publisher, settings.jobsTopic, jobMessageFor(doc, traceparent))
      : await publishCompletion(deps.publisher, settings.completionsTopic, doc, traceparent);
    try {
      await deps.statusStore.label(doc.jobId, { [queued ? JOB_PUBLISHED_LABEL : COMPLETION_PUBLISHED_LABEL]: messageId });
    } catch (err) {
      // The message is out; without the label a redelivery publishes once more, which is harmless.
      log.warn({ event: EVENTS.finalize.label_failed, err }, 'published, but could not record it');
    }
  }
}

function withDeclaredType<T extends object>(source: T, declared: string | undefined): T & { contentType?: AcceptedContentType } {
  return (ACCEPTED_CONTENT_TYPES as readonly string[]).includes(declared ?? '') ? { ...source, contentType: declared as AcceptedContentType } : source;
}
