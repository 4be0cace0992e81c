import { logEvents } from '../shared/log-events.js';

/**
 * Every log event the worker (and its `cutout` CLI) writes (the scheme: shared/log-events.ts).
 * @example log.info({ event: EVENTS.job.succeeded }, 'job succeeded')
 */
export const EVENTS = logEvents({
  /** One job: its moves (processing, succeeded, failed) and what else happens to it here. */
  job: ['processing', 'preview_shown', 'succeeded', 'failed', 'retry', 'failure_not_recorded', 'already_terminal', 'duplicate_in_flight', 'superseded'],
  /** A job message the worker cannot read, or will not: its source is not what ingest wrote (service/invalid-message.ts). */
  message: ['unreadable', 'foreign_source', 'dead_lettered', 'not_recorded'],
  /** A job message put back on the topic because its deliveries were lost, not failed (service/redelivery.ts). */
  delivery: ['republished', 'republish_failed'],
  cache: ['incomplete', 'save_failed'],
  /** Loading, verifying and warming the model (model/, service/model-loader.ts, service/worker.ts). */
  model: [
    'license',
    'cached',
    'cache_corrupt',
    'pack',
    'fetched',
    'unverified',
    'provider_selected',
    'provider_failed',
    'loaded',
    'batch_checked',
    'batch_refused',
    'load_failed',
    'ready',
    'warm',
    'warmup_skipped',
    'warmup_failed',
  ],
  pipeline: ['thread_crashed'],
  http: ['listening'],
  pull: ['started', 'error'],
  push: ['bad_envelope'],
  shutdown: ['start', 'drained', 'done', 'step_failed'],
});
