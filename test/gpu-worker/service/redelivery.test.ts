import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobMessage } from '../../../schemas/job.js';
import { RetryableError } from '../../../shared/errors.js';
import { queuedFromMessage, readJobMessage, toProcessing } from '../../../shared/job/index.js';
import { CompletionPublisher } from '../../../gpu-worker/service/completion-publisher.js';
import { createJobHandler } from '../../../gpu-worker/service/job-handler.js';
import { OutputCache, ResultsWriter } from '../../../gpu-worker/service/outputs.js';
import type { Delivery } from '../../../gpu-worker/service/ports.js';
import {
  ATTEMPTS_BEFORE_ATTRIBUTE,
  MAX_REPUBLISHES,
  REPUBLISHED_ATTRIBUTE,
  counterAttribute,
  redeliveryDecision,
  republishIfDeliveriesLost,
  type RedeliveryFacts,
} from '../../../gpu-worker/service/redelivery.js';
import { FakeBlobStore, FakePipeline, FakePublisher, JOB_ID, RESULTS, RecordingMetrics, UPLOADS, fakeStatusStore, jobMessage, silentLogger } from './fakes.js';

const NOW = new Date('2026-11-23T18:00:01.000Z');
const facts = (f: Partial<RedeliveryFacts>): RedeliveryFacts => ({ deliveryAttempt: 4, maxDeliveryAttempts: 5, jobAttempts: 0, attemptsBefore: 0, republished: 0, ended: false, ...f });

describe('redeliveryDecision', () => {
  it('republishes near the limit when deliveries started nothing', () => {
    assert.deepEqual(redeliveryDecision(facts({ deliveryAttempt: 4, jobAttempts: 1 })), { republish: true, lost: 2 });
    assert.deepEqual(redeliveryDecision(facts({ deliveryAttempt: 5, jobAttempts: 3 })), { republish: true, lost: 1 });
    // A worker killed before its claim reached the store: no start at all.
    assert.deepEqual(redeliveryDecision(facts({ deliveryAttempt: 4, jobAttempts: 0 })), { republish: true, lost: 3 });
  });

  it('lets a job whose every delivery started it go on to the dead-letter path', () => {
    assert.deepEqual(redeliveryDecision(facts({ deliveryAttempt: 4, jobAttempts: 3 })), { republish: false, why: 'own_attempts', lost: 0 });
    assert.deepEqual(redeliveryDecision(facts({ deliveryAttempt: 5, jobAttempts: 4 })), { republish: false, why: 'own_attempts', lost: 0 });
    // Another message of the same job started it more often: still nothing lost.
    assert.equal(redeliveryDecision(facts({ deliveryAttempt: 5, jobAttempts: 9 })).republish, false);
  });

  it('leaves early deliveries, ended jobs and subscriptions without a dead-letter policy alone', () => {
    assert.deepEqual(redeliveryDecision(facts({ deliveryAttempt: 3, jobAttempts: 0 })), { republish: false, why: 'not_near_limit', lost: 2 });
    assert.equal(redeliveryDecision(facts({ deliveryAttempt: 4, jobAttempts: 0, ended: true })).republish, false);
    assert.deepEqual(redeliveryDecision(facts({ deliveryAttempt: 0, jobAttempts: 0 })), { republish: false, why: 'no_dead_letter_policy', lost: 0 });
    // A larger limit moves the threshold with it.
    assert.equal(redeliveryDecision(facts({ deliveryAttempt: 8, maxDeliveryAttempts: 10, jobAttempts: 0 })).republish, false);
    assert.equal(redeliveryDecision(facts({ deliveryAttempt: 9, maxDeliveryAttempts: 10, jobAttempts: 0 })).republish, true);
  });

  it('counts lost deliveries per message, from the attempts the job had when it was published', () => {
    // Republished at attempts 2; this message started it once in three deliveries.
    assert.deepEqual(redeliveryDecision(facts({ deliveryAttempt: 4, jobAttempts: 3, attemptsBefore: 2, republished: 1 })), { republish: true, lost: 2 });
    // Republished at attempts 2; every delivery of this message started it.
    assert.equal(redeliveryDecision(facts({ deliveryAttempt: 4, jobAttempts: 5, attemptsBefore: 2, republished: 1 })).republish, false);
  });

  it('stops after MAX_REPUBLISHES, so a job gets a bounded number of deliveries', () => {
    assert.equal(redeliveryDecision(facts({ republished: MAX_REPUBLISHES - 1 })).republish, true);
    assert.deepEqual(redeliveryDecision(facts({ republished: MAX_REPUBLISHES })), { republish: false, why: 'republish_limit', lost: 3 });
  });

  it('reads counters strictly', () => {
    assert.equal(counterAttribute({ [REPUBLISHED_ATTRIBUTE]: '2' }, REPUBLISHED_ATTRIBUTE), 2);
    for (const bad of ['-1', '1.5', 'x', '', '99999999']) assert.equal(counterAttribute({ [REPUBLISHED_ATTRIBUTE]: bad }, REPUBLISHED_ATTRIBUTE), 0, bad);
    assert.equal(counterAttribute({}, REPUBLISHED_ATTRIBUTE), 0);
  });
});

function harness(withJobs = true) {
  const store = new FakeBlobStore();
  const { store: statuses } = fakeStatusStore();
  const completions = new FakePublisher();
  const jobs = new FakePublisher();
  const pipeline = new FakePipeline();
  const h = {
    store,
    statuses,
    completions,
    jobs,
    pipeline,
    handle: createJobHandler({
      log: silentLogger(),
      statusStore: statuses,
      store,
      results: new ResultsWriter(store, RESULTS),
      cache: new OutputCache(store, RESULTS),
      pipeline: () => pipeline,
      completions: new CompletionPublisher(completions, '//petcutout/test-worker'),
      deadLetters: new FakePublisher(),
      ...(withJobs ? { jobs } : {}),
      metrics: new RecordingMetrics(),
      maxDeliveryAttempts: 5,
      uploadsBucket: UPLOADS,
      now: () => NOW,
    }),
    async submit(): Promise<JobMessage> {
      const generation = store.put(UPLOADS, `uploads/${JOB_ID}/original`, Buffer.from('photo-bytes'), 'image/jpeg');
      const msg = jobMessage({ generation });
      await statuses.create(queuedFromMessage(msg, new Date('2026-11-23T18:00:00.000Z')));
      return msg;
    },
    /** Workers that claimed the job and died: `n` real starts. */
    async started(n: number): Promise<void> {
      for (let i = 0; i < n; i++) await statuses.update(JOB_ID, (d) => toProcessing(d, NOW));
    },
  };
  return h;
}

const deliver = (msg: JobMessage, attempt: number, attributes: Record<string, string> = {}): Delivery => ({
  data: Buffer.from(JSON.stringify(msg)),
  attributes,
  messageId: `m-${attempt}`,
  deliveryAttempt: attempt,
});

describe('the job handler with lost deliveries', () => {
  it('republishes the same JobMessage as a fresh message and acks, without starting the job', async () => {
    const h = harness();
    const msg = await h.submit();
    await h.started(1);
    assert.equal(await h.handle(deliver(msg, 4)), 'ack');
    assert.equal(h.pipeline.calls.length, 0, 'not processed on this delivery');
    assert.equal(h.jobs.messages.length, 1);
    const fresh = h.jobs.messages[0]!;
    const read = readJobMessage(fresh.data);
    assert.ok(read.ok);
    assert.deepEqual(read.message, msg);
    assert.equal(fresh.attributes['jobId'], JOB_ID);
    assert.equal(fresh.attributes[REPUBLISHED_ATTRIBUTE], '1');
    assert.equal(fresh.attributes[ATTEMPTS_BEFORE_ATTRIBUTE], '1');
    const doc = (await h.statuses.get(JOB_ID))?.doc;
    assert.equal(doc?.state, 'processing');
    assert.equal(doc?.attempts, 1, 'the republish is no start');
    assert.equal(h.completions.messages.length, 0);

    // The fresh message's first delivery runs the job to its one ending.
    assert.equal(await h.handle(deliver(msg, 1, fresh.attributes)), 'ack');
    const done = (await h.statuses.get(JOB_ID))?.doc;
    assert.equal(done?.state, 'succeeded');
    assert.equal(done?.attempts, 2);
    assert.equal(h.completions.messages.length, 1);
  });

  it('a job whose every delivery failed for real is handled as usual on its last attempts (the dead-letter path)', async () => {
    const h = harness();
    const msg = await h.submit();
    await h.started(3);
    h.pipeline.fail = new RetryableError('internal', 'flaky');
    assert.equal(await h.handle(deliver(msg, 4)), 'nack');
    assert.equal(await h.handle(deliver(msg, 5)), 'nack');
    assert.equal(h.jobs.messages.length, 0);
    assert.equal(h.pipeline.calls.length, 2);
    assert.equal((await h.statuses.get(JOB_ID))?.doc.attempts, 5);
  });

  it('early deliveries and ended jobs are not republished', async () => {
    const h = harness();
    const msg = await h.submit();
    assert.equal(await h.handle(deliver(msg, 3)), 'ack');
    assert.equal((await h.statuses.get(JOB_ID))?.doc.state, 'succeeded');
    assert.equal(await h.handle(deliver(msg, 5)), 'ack');
    assert.equal(h.jobs.messages.length, 0);
    assert.equal(h.pipeline.calls.length, 1);
    assert.equal(h.completions.messages.length, 2, 'the ended job re-announces its event (same id), as before');
    assert.equal(h.completions.ids()[0], h.completions.ids()[1]);
  });

  it('a failed publish handles the delivery as usual', async () => {
    const h = harness();
    const msg = await h.submit();
    h.jobs.fail = new Error('PERMISSION_DENIED');
    assert.equal(await h.handle(deliver(msg, 5)), 'ack');
    assert.equal((await h.statuses.get(JOB_ID))?.doc.state, 'succeeded');
    assert.equal(h.pipeline.calls.length, 1);
  });

  it('without a jobs publisher nothing is republished', async () => {
    const h = harness(false);
    const msg = await h.submit();
    assert.equal(await h.handle(deliver(msg, 5)), 'ack');
    assert.equal((await h.statuses.get(JOB_ID))?.doc.state, 'succeeded');
  });

  it('the republish limit hands the last message to the usual path', async () => {
    const h = harness();
    const msg = await h.submit();
    assert.equal(await h.handle(deliver(msg, 4, { [REPUBLISHED_ATTRIBUTE]: String(MAX_REPUBLISHES) })), 'ack');
    assert.equal(h.jobs.messages.length, 0);
    assert.equal((await h.statuses.get(JOB_ID))?.doc.state, 'succeeded');
  });

  it('republishIfDeliveriesLost leaves a message of a superseded generation to the usual path', async () => {
    const h = harness();
    const msg = await h.submit();
    const old = { ...msg, source: { ...msg.source, generation: '1' } };
    assert.equal(await republishIfDeliveriesLost({ statusStore: h.statuses, jobs: h.jobs, maxDeliveryAttempts: 5 }, old, deliver(old, 5), silentLogger()), false);
    assert.equal(h.jobs.messages.length, 0);
    assert.equal(await republishIfDeliveriesLost({ statusStore: h.statuses, jobs: h.jobs, maxDeliveryAttempts: 5 }, msg, deliver(msg, 5), silentLogger()), true);
  });
});
