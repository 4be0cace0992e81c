import type { JobMessage } from '../schemas/job.js';
import type { JobStatus } from '../schemas/status.js';
import { completionMessageFor, encodeJobMessage } from '../shared/job/index.js';
import type { Publisher } from './deps.js';

/** Status-document labels recording that a message for the job left this function. */
export const JOB_PUBLISHED_LABEL = 'petcutout-job-published';
export const COMPLETION_PUBLISHED_LABEL = 'petcutout-completion-published';

/** The CloudEvents `source` of the completion events the functions emit. */
export const FUNCTIONS_EVENT_SOURCE = '//petcutout/functions';

/** Publish a JobMessage (built by shared/job's `jobMessageFor`) to the jobs topic. */
export function publishJob(publisher: Publisher, topic: string, message: JobMessage): Promise<string> {
  return publisher.publish(topic, encodeJobMessage(message));
}

/** Publish the completion CloudEvent (binary Pub/Sub binding) for a terminal document the functions wrote. */
export function publishCompletion(publisher: Publisher, topic: string, doc: JobStatus, traceparent?: string): Promise<string> {
  return publisher.publish(topic, completionMessageFor(FUNCTIONS_EVENT_SOURCE, doc, traceparent));
}
