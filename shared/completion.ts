import { CompletionEvent, COMPLETION_EVENT_TYPE, completionEventId, type CompletionData } from '../schemas/completion.js';
import { TRACEPARENT } from '../schemas/common.js';
import { parseOrThrow } from '../schemas/parse.js';

/**
 * Build the completion CloudEvent for a job outcome.
 * @example buildCompletionEvent('//petcutout/gpu-worker', data)
 */
export function buildCompletionEvent(source: string, data: CompletionData): CompletionEvent {
  return parseOrThrow(CompletionEvent, 'CompletionEvent', {
    specversion: '1.0',
    id: completionEventId(data.jobId, data.outcome),
    source,
    type: COMPLETION_EVENT_TYPE,
    subject: `jobs/${data.jobId}`,
    time: data.completedAt,
    datacontenttype: 'application/json',
    data,
  });
}

export interface PubSubEventMessage {
  data: Buffer;
  attributes: Record<string, string>;
  orderingKey?: string;
}

/**
 * The CloudEvents Pub/Sub protocol binding, binary mode: context attributes become
 * `ce-*` message attributes, the data is the message body. A `traceparent` (the job's, from
 * the upload's event) rides along as the Distributed Tracing extension, `ce-traceparent`, so
 * a subscriber's work joins the job's trace.
 */
export function toPubSubMessage(event: CompletionEvent, traceparent?: string): PubSubEventMessage {
  return {
    data: Buffer.from(JSON.stringify(event.data)),
    attributes: {
      'ce-specversion': event.specversion,
      'ce-id': event.id,
      'ce-source': event.source,
      'ce-type': event.type,
      'ce-subject': event.subject,
      'ce-time': event.time,
      'content-type': event.datacontenttype,
      ...(traceparent !== undefined && TRACEPARENT.test(traceparent) ? { 'ce-traceparent': traceparent } : {}),
    },
  };
}

/** Inverse of toPubSubMessage, for subscribers; throws a SchemaError naming bad fields. */
export function fromPubSubMessage(message: { data: Buffer | Uint8Array; attributes: Record<string, string> }): CompletionEvent {
  const a = message.attributes;
  let data: unknown;
  try {
    data = JSON.parse(Buffer.from(message.data).toString('utf8'));
  } catch {
    data = undefined;
  }
  return parseOrThrow(CompletionEvent, 'CompletionEvent', {
    specversion: a['ce-specversion'],
    id: a['ce-id'],
    source: a['ce-source'],
    type: a['ce-type'],
    subject: a['ce-subject'],
    time: a['ce-time'],
    datacontenttype: a['content-type'],
    data,
  });
}
