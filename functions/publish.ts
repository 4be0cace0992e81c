import type { CompletionOutcome } from '../schemas/completion.js';
import { JobMessage } from '../schemas/job.js';
import { TRACEPARENT } from '../schemas/common.js';
import { parseOrThrow } from '../schemas/parse.js';
import type { JobStatus } from '../schemas/status.js';
import { buildCompletionEvent, toPubSubMessage } from '../shared/completion.js';
import type { Publisher } from './deps.js';

/** Status-document labels recording that a message for the job left this function. */
export const JOB_PUBLISHED_LABEL = 'petcutout-job-published';
export const COMPLETION_PUBLISHED_LABEL = 'petcutout-completion-published';

/** The CloudEvents `source` of the completion events the functions emit. */
export const FUNCTIONS_EVENT_SOURCE = '//petcutout/functions';

/**
 * The JobMessage for a queued document: the document holds everything the worker needs,
 * and `traceparent` (from the upload's event) carries the trace on to the worker.
 */
export function jobMessageFor(doc: JobStatus, traceparent?: string): JobMessage {
  return parseOrThrow(JobMessage, 'JobMessage', {
    schemaVersion: doc.schemaVersion,
    jobId: doc.jobId,
    trigger: doc.trigger,
    source: doc.source,
    outputs: doc.outputsRequested,
    ...(doc.clientRef !== undefined ? { clientRef: doc.clientRef } : {}),
    ...(traceparent !== undefined && TRACEPARENT.test(traceparent) ? { trace: { traceparent } } : {}),
    requestedAt: doc.createdAt,
  });
}

export function publishJob(publisher: Publisher, topic: string, message: JobMessage): Promise<string> {
  return publisher.publish(topic, {
    data: Buffer.from(JSON.stringify(message)),
    attributes: { jobId: message.jobId, trigger: message.trigger, schemaVersion: String(message.schemaVersion) },
  });
}

/** Publish the completion CloudEvent (binary Pub/Sub binding) for a terminal document. */
export function publishCompletion(publisher: Publisher, topic: string, doc: JobStatus, outcome: CompletionOutcome, traceparent?: string): Promise<string> {
  const event = buildCompletionEvent(FUNCTIONS_EVENT_SOURCE, {
    schemaVersion: doc.schemaVersion,
    jobId: doc.jobId,
    outcome,
    source: { bucket: doc.source.bucket, name: doc.source.name, ...(doc.source.generation ? { generation: doc.source.generation } : {}) },
    outputsRequested: doc.outputsRequested,
    ...(doc.error ? { error: doc.error } : {}),
    ...(doc.clientRef !== undefined ? { clientRef: doc.clientRef } : {}),
    completedAt: doc.updatedAt,
  });
  return publisher.publish(topic, toPubSubMessage(event, traceparent));
}
