/**
 * `replay`: once the cause of dead letters is fixed (a bad rollout rolled back, a lost IAM
 * grant restored), runs the dead-lettered jobs again under their own ids, so a storefront
 * still polling a job sees it finish, and fulfilment gets its `succeeded` event.
 *
 *   npx tsx scripts/replay.ts                 # every dead letter waiting on the review subscription
 *   npx tsx scripts/replay.ts JOB_ID ...      # these jobs only (their review copies stay)
 *   npx tsx scripts/replay.ts --stuck 60      # jobs queued or processing for over 60 minutes
 *   options: --subscription NAME (default <DEAD_LETTER_TOPIC>-review) --idle SECONDS (default 5)
 *
 * `--stuck` is the sweep for jobs whose message went missing: a finalize whose publish kept
 * failing until Eventarc gave up (24 h), or a message that outlived its retention. It lists
 * the status documents and publishes the JobMessage again for each job still `queued` or
 * `processing` whose last change is older than the given minutes (pick more than the slowest
 * job plus the retry window, so live jobs are left alone; a duplicate is harmless anyway).
 *
 * A job is replayed only when onDeadLetter ended it (`failed` with `dead_lettered`): its
 * status document goes back to `queued` (compare-and-swap, the transition recorded) and its
 * JobMessage, rebuilt from the document, is published to the jobs topic. A job that failed
 * for its input (corrupt, unsupported, ...) or ended otherwise is left alone: running it
 * again cannot change the answer. Replaying twice is harmless: a job already reopened is
 * only published again, and the worker handles a job once.
 *
 * From the review subscription, a dead letter is acked once its job is replayed or has
 * ended well (succeeded, rejected); the others are left for a person and listed.
 *
 * Environment: GOOGLE_CLOUD_PROJECT, RESULTS_BUCKET, UPLOADS_BUCKET, JOBS_TOPIC,
 * DEAD_LETTER_TOPIC (and in local mode the emulator hosts `make localcloud` prints).
 * Exit status: 0 every job found was replayed (or had ended well), 1 some were left,
 * 2 usage or configuration.
 */
import { pathToFileURL } from 'node:url';
import { PubSub, type Message } from '@google-cloud/pubsub';
import { Storage } from '@google-cloud/storage';
import type { z } from 'zod';
import { pubsubPublisher } from '../functions/gcp.js';
import { publishJob } from '../functions/publish.js';
import type { JobMessage } from '../schemas/job.js';
import { BaseConfig, ConfigError, fields, parseConfig, storageOptions, type Env } from '../shared/config.js';
import { jobIdOfMessage, jobMessageFor, reopen, wasReopened } from '../shared/job/index.js';
import { JOBS_PREFIX, jobIdOfStatusName } from '../shared/paths.js';
import { createStatusStore, gcsDocObjects, type StatusStore } from '../shared/status-store.js';

import { parseReplayArgs, ReplayUsageError, type ReplayOptions } from './replay-args.js';

export { parseReplayArgs, ReplayUsageError, type ReplayOptions };

export type ReplayOutcome =
  /** Reopened (or found reopened by an earlier run) and published. */
  | 'replayed'
  /** Ended well meanwhile (succeeded, or rejected at ingest): nothing to run. */
  | 'ended'
  /** Left alone: running it again cannot help, or it is still in flight, or unknown. */
  | 'left';

export interface ReplayDeps {
  statusStore: StatusStore;
  /** Publishes a JobMessage to the jobs topic; resolves with its message id. */
  publish: (message: JobMessage) => Promise<string>;
  now: () => Date;
}

export interface ReplayResult {
  jobId: string;
  outcome: ReplayOutcome;
  detail: string;
}

/**
 * One job: reopen it when onDeadLetter ended it, then publish its JobMessage.
 * @example await replayJob({ statusStore, publish: (m) => publishJob(publisher, 'jobs', m), now: () => new Date() }, jobId)
 */
export async function replayJob(deps: ReplayDeps, jobId: string): Promise<ReplayResult> {
  const updated = await deps.statusStore.update(jobId, (doc) => reopen(doc, deps.now()));
  if (!updated) return { jobId, outcome: 'left', detail: 'no status document' };
  const doc = updated.stored.doc;
  if (updated.changed || wasReopened(doc)) {
    const messageId = await deps.publish(jobMessageFor(doc));
    return { jobId, outcome: 'replayed', detail: `${updated.changed ? 'reopened' : 'was reopened already'}; published as message ${messageId}` };
  }
  if (doc.state === 'succeeded' || doc.state === 'rejected') return { jobId, outcome: 'ended', detail: `already ${doc.state}` };
  if (doc.state === 'failed') return { jobId, outcome: 'left', detail: `failed for its input (${doc.error?.code ?? 'no code'}): a replay cannot change that` };
  return { jobId, outcome: 'left', detail: `still ${doc.state}: not dead-lettered` };
}

/**
 * The sweep: every job still `queued` or `processing` whose last change is older than
 * `olderThanMs` gets its JobMessage published again (the document is not touched: the worker
 * claims it as usual). `jobIds` lists the jobs that have a status document.
 * @example await sweepStuck({ statusStore, publish, now }, await listJobIds(), 60 * 60_000)
 */
export async function sweepStuck(deps: ReplayDeps, jobIds: readonly string[], olderThanMs: number): Promise<ReplayResult[]> {
  const results: ReplayResult[] = [];
  const cutoff = deps.now().getTime() - olderThanMs;
  for (const jobId of jobIds) {
    const doc = (await deps.statusStore.get(jobId))?.doc;
    if (!doc || (doc.state !== 'queued' && doc.state !== 'processing')) continue;
    const since = Date.parse(doc.updatedAt);
    if (since > cutoff) continue;
    const minutes = Math.round((deps.now().getTime() - since) / 60_000);
    const messageId = await deps.publish(jobMessageFor(doc));
    results.push({ jobId, outcome: 'replayed', detail: `${doc.state} for ${minutes} min; published again as message ${messageId}` });
  }
  return results;
}

/** Job ids of every status document in the results bucket (`jobs/{jobId}/status.json`). */
async function listJobIds(storage: Storage, bucket: string): Promise<string[]> {
  const [files] = await storage.bucket(bucket).getFiles({ prefix: JOBS_PREFIX, autoPaginate: true });
  return files.map((f) => jobIdOfStatusName(f.name)).filter((id): id is string => id !== undefined);
}

/**
 * Streams the review subscription until nothing new arrives for `idleSeconds`, replaying
 * each dead letter's job (each job once per run, however many copies).
 */
async function drainReview(pubsub: PubSub, subscription: string, idleSeconds: number, replay: (jobId: string) => Promise<ReplayResult>, out: (line: string) => void): Promise<ReplayResult[]> {
  // NACK on close: what was left goes straight back to the backlog for a person.
  const sub = pubsub.subscription(subscription, { flowControl: { maxMessages: 1000, allowExcessMessages: false }, closeOptions: { behavior: 'NACK' } });
  const results = new Map<string, Promise<ReplayResult>>();
  const pending = new Set<Promise<unknown>>();
  let failure: Error | undefined;
  await new Promise<void>((resolve) => {
    let idle: NodeJS.Timeout;
    const settle = (): void => {
      clearTimeout(idle);
      idle = setTimeout(() => void Promise.allSettled([...pending]).then(() => (pending.size === 0 ? resolve() : settle())), idleSeconds * 1000);
    };
    settle();
    sub.on('error', (err: Error) => {
      failure = err;
      resolve();
    });
    sub.on('message', (message: Message) => {
      settle();
      // Its JobMessage's id, or the `jobId` attribute of one that does not parse.
      const jobId = jobIdOfMessage(message.data, message.attributes);
      if (jobId === undefined) {
        out(`  message ${message.id}: names no job; left for a person`);
        return;
      }
      let result = results.get(jobId);
      if (!result) {
        result = replay(jobId);
        results.set(jobId, result);
      }
      const handled = result.then(
        (r) => {
          if (r.outcome !== 'left') message.ack();
        },
        () => undefined,
      );
      pending.add(handled);
      void handled.finally(() => pending.delete(handled));
    });
  });
  await sub.close();
  if (failure) throw failure;
  return Promise.all(results.values());
}

const ReplayConfig = BaseConfig.extend({ DEAD_LETTER_REVIEW_SUBSCRIPTION: fields.resourceId().optional() });

/** Runs the command; returns the exit status. Progress goes to `out`, one line per job to stdout. */
export async function main(argv: string[], env: Env, out: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): Promise<number> {
  let options: ReplayOptions;
  let cfg: z.infer<typeof ReplayConfig>;
  try {
    options = parseReplayArgs(argv);
    cfg = parseConfig(ReplayConfig, env);
  } catch (err) {
    if (err instanceof ReplayUsageError || err instanceof ConfigError) {
      out(err.message);
      return 2;
    }
    throw err;
  }
  const storage = new Storage(storageOptions(cfg));
  const pubsub = new PubSub({ projectId: cfg.GOOGLE_CLOUD_PROJECT });
  const publisher = pubsubPublisher(pubsub);
  const deps: ReplayDeps = {
    statusStore: createStatusStore(gcsDocObjects(storage.bucket(cfg.RESULTS_BUCKET))),
    publish: (m) => publishJob(publisher, cfg.JOBS_TOPIC, m),
    now: () => new Date(),
  };
  const replay = async (jobId: string): Promise<ReplayResult> => {
    const r = await replayJob(deps, jobId).catch(
      (err: unknown): ReplayResult => ({ jobId, outcome: 'left', detail: `could not replay: ${err instanceof Error ? err.message : String(err)}` }),
    );
    out(`  ${jobId}: ${r.outcome} (${r.detail})`);
    return r;
  };
  let results: ReplayResult[];
  try {
    if (options.stuckMinutes !== undefined) {
      out(`replay: jobs queued or processing for over ${options.stuckMinutes} min in gs://${cfg.RESULTS_BUCKET}/${JOBS_PREFIX}`);
      results = await sweepStuck(deps, await listJobIds(storage, cfg.RESULTS_BUCKET), options.stuckMinutes * 60_000);
      for (const r of results) out(`  ${r.jobId}: ${r.outcome} (${r.detail})`);
    } else if (options.jobIds.length > 0) {
      results = [];
      for (const id of new Set(options.jobIds)) results.push(await replay(id));
    } else {
      const subscription = options.subscription ?? cfg.DEAD_LETTER_REVIEW_SUBSCRIPTION ?? `${cfg.DEAD_LETTER_TOPIC}-review`;
      out(`replay: dead letters on ${subscription} (stops after ${options.idleSeconds} s without a new one)`);
      results = await drainReview(pubsub, subscription, options.idleSeconds, replay, out);
    }
  } finally {
    await pubsub.close();
  }
  for (const r of results) process.stdout.write(`${r.jobId}\t${r.outcome}\t${r.detail}\n`);
  const count = (o: ReplayOutcome): number => results.filter((r) => r.outcome === o).length;
  process.stdout.write(`replay: ${count('replayed')} replayed, ${count('ended')} had ended well, ${count('left')} left\n`);
  return count('left') > 0 ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2), process.env);
}
