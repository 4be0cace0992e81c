import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { JobMessage } from '../../schemas/job.js';
import type { JobStatus, OutputObject, Quality } from '../../schemas/status.js';
import { RetryableError, classify } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import { endingWriter, queuedFromMessage, readJobMessage, toFailed, toProcessing, toSucceeded, withPreview } from '../../shared/job/index.js';
import { jobError } from '../../shared/messages.js';
import type { StatusStore, StoredStatus, UpdateResult } from '../../shared/status-store.js';
import type { ImagePipeline, RenderedOutput } from '../pipeline/contract.js';
import type { CompletionPublisher } from './completion-publisher.js';
import { recordForeignSource, recordInvalidMessage } from './invalid-message.js';
import type { JobMetrics } from './metrics.js';
import { cacheKey, type OutputCache, type ResultsWriter } from './outputs.js';
import type { BlobStore, Delivery, TopicPublisher, Verdict } from './ports.js';
import { foreignSource, readPinnedSource, statusStoreForGeneration, SupersededMessage } from './source.js';
import { republishIfDeliveriesLost } from './redelivery.js';
import { EVENTS } from '../log-events.js';

export interface DebugHooks {
  /** Hold each job this long after it turns `processing` (tests of SIGTERM and SIGKILL). */
  delayMs?: number;
  /** A job with this clientRef fails retryably on every attempt (dead-letter tests). */
  failClientRef?: string;
  /** Hold each job this long once its preview is in the status, before it ends (tests that read a processing job's preview). */
  previewHoldMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export interface JobHandlerDeps {
  log: Logger;
  statusStore: StatusStore;
  store: BlobStore;
  results: ResultsWriter;
  /** Absent when the cache is switched off. */
  cache?: OutputCache;
  /** The loaded pipeline, or undefined while the model is still loading. */
  pipeline: () => ImagePipeline | undefined;
  completions: CompletionPublisher;
  deadLetters: TopicPublisher;
  /** The jobs topic, to put back a job whose deliveries were lost (redelivery.ts); absent: never. */
  jobs?: TopicPublisher;
  metrics: JobMetrics;
  maxDeliveryAttempts: number;
  /** The only bucket a job's source may be in (and only under uploads/ or batch/: see source.ts). */
  uploadsBucket: string;
  now?: () => Date;
  hooks?: DebugHooks;
}

/** Resolves to what to do with the delivery; never rejects. */
export type JobHandler = (delivery: Delivery) => Promise<Verdict>;

/**
 * One job from message to terminal status: the whole state machine of the worker.
 * Permanent errors end the job (`failed`, event, ack); retryable ones nack it so Pub/Sub
 * redelivers and, after the subscription's attempts, dead-letters it.
 */
export function createJobHandler(deps: JobHandlerDeps): JobHandler {
  const now = deps.now ?? ((): Date => new Date());
  /**
   * Jobs running in this process, by id. A second delivery of a job already running here (a
   * redelivery after a lease ran out, or a publisher's retry) shares that run's verdict
   * instead of claiming the job again and repeating its inference. A message for another
   * generation of the job (a retried upload) waits for that run to end instead, so the two
   * never write the job's outputs at once; one of them then finds itself superseded.
   */
  const running = new Map<string, { generation: string; work: Promise<Verdict> }>();
  return async (delivery) => {
    const parsed = readJobMessage(delivery.data);
    if (!parsed.ok) return recordInvalidMessage(deps, delivery, parsed, now);
    const msg = parsed.message;
    const foreign = foreignSource(msg.source, deps.uploadsBucket);
    if (foreign) return recordForeignSource(deps, delivery, msg, foreign, now);
    const log = deps.log.child({
      jobId: msg.jobId,
      messageId: delivery.messageId,
      deliveryAttempt: delivery.deliveryAttempt,
      ...(msg.trace?.traceparent ? { traceparent: msg.trace.traceparent } : {}),
    });
    const same = running.get(msg.jobId);
    if (same?.generation === msg.source.generation) {
      log.info({ event: EVENTS.job.duplicate_in_flight }, 'this job is already running here: answering with its verdict');
      const verdict = await same.work;
      deps.metrics.jobFinished(verdict === 'ack' ? 'skipped' : 'retried');
      return verdict;
    }
    // Deliveries lost to dead workers must not dead-letter a good job (redelivery.ts).
    if (await republishIfDeliveriesLost(deps, msg, delivery, log)) return 'ack';
    // Every status write of this message's run is for its generation only (source.ts).
    const own = { ...deps, statusStore: statusStoreForGeneration(deps.statusStore, msg.source.generation) };
    const after = same ? same.work.then(() => undefined) : Promise.resolve();
    const work = after.then(() => runJob(own, msg, log, now)).catch((err: unknown) => settleFailure(own, msg, delivery, log, err, now));
    running.set(msg.jobId, { generation: msg.source.generation, work });
    try {
      return await work;
    } finally {
      if (running.get(msg.jobId)?.work === work) running.delete(msg.jobId);
    }
  };
}

async function runJob(deps: JobHandlerDeps, msg: JobMessage, log: Logger, now: () => Date): Promise<Verdict> {
  const started = performance.now();
  const timings: Record<string, number> = {};
  const timed = async <T>(stage: string, work: () => Promise<T>): Promise<T> => {
    const t0 = performance.now();
    try {
      return await work();
    } finally {
      timings[stage] = performance.now() - t0;
      deps.metrics.stageDuration(stage, timings[stage]);
    }
  };

  // Checked before `processing`, so a worker without a model leaves no trace on the job.
  const pipeline = deps.pipeline();
  if (!pipeline) throw new RetryableError('model_not_ready', 'the model is not loaded yet');

  // The reads a job needs (its original, the cache manifest) start with the claim instead of
  // after it: they change nothing, and round trips one after another are on every job's
  // latency. A job found already done only wastes a download; errors wait for their await.
  const download = background(timed('download', () => readPinnedSource(deps.store, msg, deps.uploadsBucket)));
  const model = pipeline.model;
  const cache = deps.cache;
  // The message carries the md5 of the pinned generation: the lookup need not wait for the bytes.
  const key = cache
    ? background(
        (msg.source.md5Hash !== undefined ? Promise.resolve(msg.source.md5Hash) : download.result().then((b) => createHash('md5').update(b).digest('base64'))).then((sourceMd5) =>
          cacheKey({ sourceMd5, modelId: model.id, ...(model.sha256 ? { modelSha256: model.sha256 } : {}), ...(model.rendering ? { rendering: model.rendering } : {}), outputs: msg.outputs }),
        ),
      )
    : undefined;
  const lookup = cache && key ? background(key.result().then((k) => timed('cache', () => cache.lookup(k)))) : undefined;

  const claimed = await claim(deps, msg, now);
  if (!claimed.changed) return finishAlreadyDone(deps, claimed.stored.doc, log, msg.trace?.traceparent);
  log.info({ event: EVENTS.job.processing, attempts: claimed.stored.doc.attempts }, 'job processing');
  // The status as this job last stored it: the next writes swap on it without reading first.
  let latest = claimed.stored;

  await applyDebugHooks(deps.hooks, msg);

  let outputs: OutputObject[] | undefined;
  let quality: Quality | undefined;
  if (cache && lookup) {
    const hit = await lookup.result();
    if (hit) {
      outputs = await timed('restore', () => cache.restore(hit, msg.jobId, msg.outputs));
      quality = hit.quality;
      if (!outputs) log.info({ event: EVENTS.cache.incomplete, key: hit.key }, 'cache entry lacks an output this job wants (or lost one to expiry): rendering afresh');
    }
    deps.metrics.cacheLookup(outputs !== undefined);
  }
  const cacheHit = outputs !== undefined;
  if (!outputs) {
    // The preview is written and shown in the status as soon as the pipeline has it, while
    // the full-size outputs are still being encoded; the job ends only after it is shown.
    let early: { result: () => Promise<Shown> } | undefined;
    const onPreview = (preview: RenderedOutput): void => {
      early ??= background(showPreview(deps, msg.jobId, preview, log, now, () => performance.now() - started, claimed.stored).then((shown) => ((timings['preview_shown'] = shown.atMs), shown)));
    };
    const result = await pipeline.process({ jobId: msg.jobId, bytes: await download.result(), outputs: msg.outputs, ...(msg.outputs.includes('preview') ? { onPreview } : {}) });
    for (const [stage, ms] of Object.entries(result.timingsMs)) {
      timings[stage] = ms;
      deps.metrics.stageDuration(stage, ms);
    }
    deps.metrics.batchSize(result.batchSize);
    quality = result.quality;
    const shownPreview = early ? await early.result() : undefined;
    if (shownPreview) latest = shownPreview.stored;
    const shown = shownPreview?.output;
    const rest = result.outputs.filter((o) => !(shown && o.kind === 'preview'));
    const written = await timed('upload', () => deps.results.write(msg.jobId, rest));
    outputs = msg.outputs.map((k) => (shown?.kind === k ? shown : written.find((o) => o.kind === k))).filter((o): o is OutputObject => o !== undefined);
  }
  timings['total'] = performance.now() - started;

  const done = outputs;
  const verdict = quality;
  const final = await updateStatus(
    deps.statusStore,
    msg.jobId,
    (s) => toSucceeded(s, { outputs: done, model: { id: model.id, provider: model.provider, ...(model.sha256 ? { sha256: model.sha256 } : {}) }, timingsMs: timings, cacheHit, ...(verdict ? { quality: verdict } : {}) }, now()),
    latest,
  );
  await deps.completions.announce(final.stored.doc, msg.trace?.traceparent);
  deps.metrics.stageDuration('total', timings['total']);
  deps.metrics.jobFinished(final.changed ? 'succeeded' : 'skipped');
  log.info({ event: EVENTS.job.succeeded, cacheHit, totalMs: Math.round(timings['total']), outputs: done.map((o) => o.name) }, 'job succeeded');
  // After the event, so filling the cache (server-side copies) costs the user no latency;
  // before the ack, so a shutdown drain still waits for it. Best effort: a miss later is fine.
  if (cache && key && !cacheHit && final.changed) {
    await cache.save(await key.result(), done, verdict).catch((err: unknown) => log.warn({ event: EVENTS.cache.save_failed, err }, 'could not save outputs to the cache'));
  }
  return 'ack';
}

/**
 * The early preview: written under the job's name, then carried by the still `processing`
 * status document (compare-and-swap; a job that ended meanwhile is left as it is).
 * `atMs`: when the status carried it, in ms since the job started.
 */
async function showPreview(deps: JobHandlerDeps, jobId: string, preview: RenderedOutput, log: Logger, now: () => Date, elapsed: () => number, known: StoredStatus): Promise<Shown> {
  const [output] = await deps.results.write(jobId, [preview]);
  if (!output) throw new RetryableError('internal', `job ${jobId}: the preview was not written`);
  const shown = await updateStatus(deps.statusStore, jobId, (s) => withPreview(s, output, now()), known);
  const atMs = elapsed();
  if (shown.changed) log.info({ event: EVENTS.job.preview_shown, atMs: Math.round(atMs), width: output.width, height: output.height }, 'preview in the status while the full-size outputs are encoded');
  if (deps.hooks?.previewHoldMs) await (deps.hooks.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms))))(deps.hooks.previewHoldMs);
  return { output, atMs, stored: shown.stored };
}

/** The preview as shown: its object, when the status carried it, and the status document as stored then. */
interface Shown {
  output: OutputObject;
  atMs: number;
  stored: StoredStatus;
}

/**
 * processing, with compare-and-swap. The status document normally exists (the ingest
 * function created it), so the update comes first; a missing one is rebuilt from the message.
 */
async function claim(deps: JobHandlerDeps, msg: JobMessage, now: () => Date): Promise<UpdateResult> {
  const toClaim = (s: JobStatus): JobStatus | undefined => toProcessing(s, now());
  const first = await deps.statusStore.update(msg.jobId, toClaim);
  if (first) return first;
  await deps.statusStore.create(queuedFromMessage(msg, now()));
  return updateStatus(deps.statusStore, msg.jobId, toClaim);
}

/**
 * The job already ended, on an earlier delivery or another worker. Its event is published
 * again: the earlier attempt may have crashed between the status write and the publish,
 * and the deterministic id makes the repeat harmless. Not for outcomes the functions wrote
 * (a rejected upload, onDeadLetter's `dead_lettered`): they publish and re-send their own
 * events, and one from here would carry the same id under another `source`, which
 * CloudEvents consumers take for a different event.
 */
async function finishAlreadyDone(deps: JobHandlerDeps, status: JobStatus, log: Logger, traceparent?: string): Promise<Verdict> {
  if (endingWriter(status) === 'worker') await deps.completions.announce(status, traceparent);
  deps.metrics.jobFinished('skipped');
  log.info({ event: EVENTS.job.already_terminal, state: status.state }, `job already ${status.state}: acked without work`);
  return 'ack';
}

async function settleFailure(deps: JobHandlerDeps, msg: JobMessage, delivery: Delivery, log: Logger, err: unknown, now: () => Date): Promise<Verdict> {
  if (err instanceof SupersededMessage) return superseded(deps, log, err);
  const c = classify(err);
  if (c.retryable) {
    deps.metrics.jobFinished('retried');
    const last = delivery.deliveryAttempt >= deps.maxDeliveryAttempts;
    log.warn({ event: EVENTS.job.retry, code: c.code, err, lastAttempt: last }, last ? 'job failed on its last attempt: it goes to the dead-letter topic' : 'job failed, Pub/Sub will redeliver it');
    return 'nack';
  }
  try {
    // The shopper's sentence for the code (shared/messages.ts); what went wrong, for support, in `detail`.
    const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : '';
    const error = jobError(c.code, `${c.message}${cause}`, false);
    const final = await updateStatus(deps.statusStore, msg.jobId, (s) => toFailed(s, error, now()));
    await deps.completions.announce(final.stored.doc, msg.trace?.traceparent);
  } catch (recordErr) {
    if (recordErr instanceof SupersededMessage) return superseded(deps, log, recordErr);
    // Not recorded, so not done: a redelivery records it (or the dead-letter handler does).
    deps.metrics.jobFinished('retried');
    log.warn({ event: EVENTS.job.failure_not_recorded, code: c.code, err: recordErr }, 'could not record a permanent failure; Pub/Sub will redeliver');
    return 'nack';
  }
  deps.metrics.jobFinished('failed');
  log.warn({ event: EVENTS.job.failed, code: c.code, err }, `job failed permanently: ${c.code}`);
  return 'ack';
}

/**
 * A newer PUT of the upload took the job over: that generation's message owns it, so this
 * one is acked without a claim, an ending or an event (see shared/job/generations.ts).
 */
function superseded(deps: JobHandlerDeps, log: Logger, err: SupersededMessage): Verdict {
  deps.metrics.jobFinished('skipped');
  log.info({ event: EVENTS.job.superseded, reason: err.message }, 'a newer upload of this job owns it: acked without work');
  return 'ack';
}

async function applyDebugHooks(hooks: DebugHooks | undefined, msg: JobMessage): Promise<void> {
  if (!hooks) return;
  const sleep = hooks.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  if (hooks.delayMs) await sleep(hooks.delayMs);
  if (hooks.failClientRef !== undefined && msg.clientRef === hooks.failClientRef) {
    throw new RetryableError('internal', `debug hook: jobs with clientRef ${hooks.failClientRef} always fail`);
  }
}

/**
 * Compare-and-swap through the shared store; a vanished document is worth a retry, not a crash.
 * `known`: the document as this job last stored it (tried first without a read, see StatusStore.update).
 */
async function updateStatus(store: StatusStore, jobId: string, change: (current: JobStatus) => JobStatus | undefined, known?: StoredStatus): Promise<UpdateResult> {
  const result = await store.update(jobId, change, known);
  if (!result) throw new RetryableError('conflict', `status document of job ${jobId} is missing`);
  return result;
}

/**
 * Work started now and awaited later, maybe never: its rejection is held (not reported as
 * unhandled) until `result()` is awaited.
 */
function background<T>(work: Promise<T>): { result: () => Promise<T> } {
  work.catch(() => undefined);
  return { result: () => work };
}
