/**
 * The project's Pub/Sub topology, defined once. The localcloud harness creates it on the
 * emulator; terraform/pubsub.tf mirrors the same names and policies for production, so a
 * change here needs the matching change there. Two parts exist only locally, because in
 * production Eventarc creates and owns them: the storage notification topic with its
 * `eventarc-storage` subscription (a gen2 storage trigger), and `jobs-dead-letter-handler`
 * (the push subscription behind onDeadLetter's Pub/Sub trigger).
 */
import type { PubSub } from '@google-cloud/pubsub';
import type { Env } from '../../shared/config.js';

/** Resource ids (not full names) of every topic and subscription the pipeline uses. */
export interface TopologyNames {
  jobsTopic: string;
  completionsTopic: string;
  deadLetterTopic: string;
  storageNotificationsTopic: string;
  /** The GPU worker pulls jobs from here. */
  jobsSubscription: string;
  /** An example order-fulfilment subscriber; real fulfilment systems bring their own. */
  completionsSubscription: string;
  /** Feeds the onDeadLetter function (in production: Eventarc's own subscription). */
  deadLetterSubscription: string;
  /** Operators' copy of every dead letter, to inspect and replay (terraform: `<dead-letter topic>-review`). */
  deadLetterReviewSubscription: string;
  /** Feeds the Eventarc bridge with Cloud Storage OBJECT_FINALIZE notifications. */
  storageSubscription: string;
}

export const DEFAULT_NAMES: Readonly<TopologyNames> = {
  jobsTopic: 'jobs',
  completionsTopic: 'completions',
  deadLetterTopic: 'jobs-dead-letter',
  storageNotificationsTopic: 'storage-notifications',
  jobsSubscription: 'jobs-worker',
  completionsSubscription: 'completions-fulfilment',
  deadLetterSubscription: 'jobs-dead-letter-handler',
  deadLetterReviewSubscription: 'jobs-dead-letter-review',
  storageSubscription: 'eventarc-storage',
};

/**
 * Names from the same variables shared/config.ts BaseConfig reads (JOBS_TOPIC,
 * COMPLETIONS_TOPIC, DEAD_LETTER_TOPIC) plus JOBS_SUBSCRIPTION; unset or empty means default.
 * @example topologyNames({ JOBS_TOPIC: 'jobs-test' }).jobsTopic === 'jobs-test'
 */
export function topologyNames(env: Env = {}): TopologyNames {
  const pick = (key: string, fallback: string): string => {
    const value = env[key];
    return value === undefined || value === '' ? fallback : value;
  };
  return {
    ...DEFAULT_NAMES,
    jobsTopic: pick('JOBS_TOPIC', DEFAULT_NAMES.jobsTopic),
    completionsTopic: pick('COMPLETIONS_TOPIC', DEFAULT_NAMES.completionsTopic),
    deadLetterTopic: pick('DEAD_LETTER_TOPIC', DEFAULT_NAMES.deadLetterTopic),
    deadLetterReviewSubscription: `${pick('DEAD_LETTER_TOPIC', DEFAULT_NAMES.deadLetterTopic)}-review`,
    jobsSubscription: pick('JOBS_SUBSCRIPTION', DEFAULT_NAMES.jobsSubscription),
  };
}

/** Delivery policy of the jobs subscription. */
export interface JobsPolicy {
  /** 10-600 s. 60 s covers a cold model load; the worker's client extends leases beyond. */
  ackDeadlineSeconds: number;
  /** 5-100 (Pub/Sub's limits); after this many deliveries a job goes to the dead-letter topic. */
  maxDeliveryAttempts: number;
  minBackoffSeconds: number;
  maxBackoffSeconds: number;
}

/**
 * Small backoffs so a local retry or dead-letter shows up within seconds; production uses
 * PRODUCTION_POLICY. The official emulator rounds backoff to steps of about 2 s.
 */
export const LOCAL_POLICY: Readonly<JobsPolicy> = {
  ackDeadlineSeconds: 60,
  maxDeliveryAttempts: 5,
  minBackoffSeconds: 1,
  maxBackoffSeconds: 5,
};

/** What terraform sets: Pub/Sub's own retry defaults (10 s / 600 s). */
export const PRODUCTION_POLICY: Readonly<JobsPolicy> = {
  ackDeadlineSeconds: 60,
  maxDeliveryAttempts: 5,
  minBackoffSeconds: 10,
  maxBackoffSeconds: 600,
};

export interface SubscriptionSpec {
  name: string;
  topic: string;
  ackDeadlineSeconds: number;
  deadLetter?: { topic: string; maxDeliveryAttempts: number };
  retry?: { minBackoffSeconds: number; maxBackoffSeconds: number };
}

export interface Topology {
  topics: string[];
  subscriptions: SubscriptionSpec[];
}

/**
 * The full topology as plain data (no I/O), checked against Pub/Sub's limits.
 * @example describeTopology(topologyNames(), LOCAL_POLICY).topics.length === 4
 */
export function describeTopology(names: TopologyNames = DEFAULT_NAMES, policy: Partial<JobsPolicy> = {}): Topology {
  const p: JobsPolicy = { ...LOCAL_POLICY, ...policy };
  checkRange('ackDeadlineSeconds', p.ackDeadlineSeconds, 10, 600);
  checkRange('maxDeliveryAttempts', p.maxDeliveryAttempts, 5, 100);
  checkRange('minBackoffSeconds', p.minBackoffSeconds, 0, 600);
  checkRange('maxBackoffSeconds', p.maxBackoffSeconds, p.minBackoffSeconds, 600);
  return {
    topics: [names.jobsTopic, names.completionsTopic, names.deadLetterTopic, names.storageNotificationsTopic],
    subscriptions: [
      {
        name: names.jobsSubscription,
        topic: names.jobsTopic,
        ackDeadlineSeconds: p.ackDeadlineSeconds,
        deadLetter: { topic: names.deadLetterTopic, maxDeliveryAttempts: p.maxDeliveryAttempts },
        retry: { minBackoffSeconds: p.minBackoffSeconds, maxBackoffSeconds: p.maxBackoffSeconds },
      },
      { name: names.completionsSubscription, topic: names.completionsTopic, ackDeadlineSeconds: 60 },
      { name: names.deadLetterSubscription, topic: names.deadLetterTopic, ackDeadlineSeconds: 60 },
      { name: names.deadLetterReviewSubscription, topic: names.deadLetterTopic, ackDeadlineSeconds: 60 },
      // The bridge holds a notification while it retries a function, and its client extends the lease.
      { name: names.storageSubscription, topic: names.storageNotificationsTopic, ackDeadlineSeconds: 60 },
    ],
  };
}

function checkRange(name: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`Expected integer between ${min} and ${max} for ${name} but received ${value}`);
  }
}

/**
 * Create every topic, then every subscription (a dead-letter policy names a topic that must
 * exist). Resources that already exist are left as they are, so a restart is harmless.
 * @example await createTopology(new PubSub({ projectId, apiEndpoint }), describeTopology())
 */
export async function createTopology(pubsub: PubSub, topology: Topology): Promise<void> {
  await Promise.all(topology.topics.map((t) => ignoreAlreadyExists(pubsub.createTopic(t))));
  await Promise.all(
    topology.subscriptions.map((s) =>
      ignoreAlreadyExists(
        pubsub.createSubscription(s.topic, s.name, {
          ackDeadlineSeconds: s.ackDeadlineSeconds,
          ...(s.deadLetter && {
            deadLetterPolicy: {
              deadLetterTopic: pubsub.topic(s.deadLetter.topic).name,
              maxDeliveryAttempts: s.deadLetter.maxDeliveryAttempts,
            },
          }),
          ...(s.retry && {
            retryPolicy: {
              minimumBackoff: { seconds: s.retry.minBackoffSeconds },
              maximumBackoff: { seconds: s.retry.maxBackoffSeconds },
            },
          }),
        }),
      ),
    ),
  );
}

const ALREADY_EXISTS = 6; // gRPC status code

async function ignoreAlreadyExists(p: Promise<unknown>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if ((err as { code?: unknown }).code !== ALREADY_EXISTS) throw err;
  }
}
