import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDeadLetterHandler } from '../../functions/dead-letter.js';
import { fromPubSubMessage } from '../../shared/completion.js';
import { jobMessageFor, newStatus, toNewerSource } from '../../shared/job/index.js';
import { shopperMessage } from '../../shared/messages.js';
import { withState } from '../shared/job-fixtures.js';
import type { JobStatus } from '../../schemas/status.js';
import { fakeWorld } from './fakes.js';

const JOB = '9999aaaabbbbccccddddeeeeffff0000';

function queuedDoc(at: Date): JobStatus {
  return newStatus(
    {
      jobId: JOB,
      state: 'queued',
      trigger: 'upload',
      source: { bucket: 'uploads-bkt', name: `uploads/${JOB}/original`, generation: '123', contentType: 'image/jpeg', size: 10, width: 100, height: 100 },
      outputsRequested: ['cutout'],
      clientRef: 'ord-1',
    },
    at,
  );
}

function deadLetterEvent(data: unknown, count = '5', attributes: Record<string, string> = {}) {
  return {
    id: 'm-1',
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    specversion: '1.0',
    source: '//pubsub.googleapis.com/projects/p/topics/jobs-dead-letter',
    data: {
      message: {
        data: typeof data === 'string' ? data : Buffer.from(JSON.stringify(data)).toString('base64'),
        attributes: { CloudPubSubDeadLetterSourceDeliveryCount: count, CloudPubSubDeadLetterSourceSubscription: 'jobs-worker', ...attributes },
        messageId: 'm-1',
      },
      subscription: 'projects/p/subscriptions/jobs-dead-letter-fn',
    },
  };
}

function setup() {
  const world = fakeWorld();
  return { world, handle: createDeadLetterHandler(world.deps, { completionsTopic: 'completions' }) };
}

describe('onDeadLetter', () => {
  for (const from of ['queued', 'processing'] as const) {
    it(`marks a ${from} job failed with dead_lettered and the delivery count, and publishes one completion`, async () => {
      const { world, handle } = setup();
      let doc = queuedDoc(world.clock.now());
      if (from === 'processing') doc = withState(doc, 'processing', world.clock.now(), { attempts: 2 });
      await world.statusStore.create(doc);
      world.clock.advance(1000);
      assert.equal(await handle(deadLetterEvent(jobMessageFor(queuedDoc(world.clock.now())))), 'failed');
      const stored = await world.statusStore.get(JOB);
      assert.equal(stored?.doc.state, 'failed');
      // The shopper's sentence as the message; what happened, for operators, as the detail.
      assert.deepEqual(stored?.doc.error, { code: 'dead_lettered', message: shopperMessage('dead_lettered'), detail: 'processing did not succeed after 5 delivery attempts; the job was dead-lettered', retryable: false });
      assert.equal(stored?.doc.attempts, 5);
      assert.equal(stored?.doc.transitions.at(-1)?.at, world.clock.now().toISOString());
      const [sent] = world.publisher.sent;
      const ce = fromPubSubMessage({ data: sent!.message.data, attributes: sent!.message.attributes ?? {} });
      assert.equal(ce.id, `${JOB}:failed`);
      assert.equal(ce.data.outcome, 'failed');
      assert.equal(ce.data.clientRef, 'ord-1');
    });
  }

  it("a dead-lettered message of a superseded generation (a retried upload) leaves the job, now on the newer one, alone", async () => {
    const { world, handle } = setup();
    const older = queuedDoc(world.clock.now());
    await world.statusStore.create(older);
    const newer = { ...older, source: { ...older.source, generation: '456' } };
    await world.statusStore.update(JOB, (d) => toNewerSource(d, newer, world.clock.now()));
    const before = await world.statusStore.get(JOB);
    assert.equal(await handle(deadLetterEvent(jobMessageFor(older))), 'superseded');
    assert.equal((await world.statusStore.get(JOB))?.generation, before?.generation);
    assert.equal(world.publisher.sent.length, 0);
    // The newer generation's own dead letter still fails it.
    assert.equal(await handle(deadLetterEvent(jobMessageFor(newer))), 'failed');
  });

  it('is idempotent: a redelivery changes and publishes nothing', async () => {
    const { world, handle } = setup();
    await world.statusStore.create(queuedDoc(world.clock.now()));
    const e = deadLetterEvent(jobMessageFor(queuedDoc(world.clock.now())));
    await handle(e);
    assert.equal(await handle(e), 'already_terminal');
    assert.equal(world.publisher.sent.length, 1);
  });

  it('re-sends the completion when the first delivery died after the update', async () => {
    const { world, handle } = setup();
    await world.statusStore.create(queuedDoc(world.clock.now()));
    const e = deadLetterEvent(jobMessageFor(queuedDoc(world.clock.now())));
    world.publisher.failures.push(new Error('unavailable'));
    await assert.rejects(handle(e));
    assert.equal(await handle(e), 'republished');
    assert.equal(await handle(e), 'already_terminal');
    assert.equal(world.publisher.sent.length, 1);
  });

  for (const terminal of ['succeeded', 'rejected'] as const) {
    it(`leaves a ${terminal} job alone`, async () => {
      const { world, handle } = setup();
      const extra = terminal === 'rejected' ? { error: { code: 'corrupt', message: 'x', retryable: false } } : {};
      await world.statusStore.create(withState(queuedDoc(world.clock.now()), terminal, world.clock.now(), extra));
      assert.equal(await handle(deadLetterEvent(jobMessageFor(queuedDoc(world.clock.now())))), 'already_terminal');
      assert.equal((await world.statusStore.get(JOB))?.doc.state, terminal);
      assert.equal(world.publisher.sent.length, 0);
    });
  }

  it('creates the failed document when none exists', async () => {
    const { world, handle } = setup();
    assert.equal(await handle(deadLetterEvent(jobMessageFor(queuedDoc(world.clock.now())), '7')), 'failed');
    const doc = (await world.statusStore.get(JOB))?.doc;
    assert.equal(doc?.state, 'failed');
    assert.equal(doc?.attempts, 7);
  });

  it('fails a job named by a message that is otherwise invalid', async () => {
    const { world, handle } = setup();
    await world.statusStore.create(queuedDoc(world.clock.now()));
    assert.equal(await handle(deadLetterEvent({ jobId: JOB, schemaVersion: 99 })), 'failed');
  });

  it('leaves a message the worker dead-lettered itself (its reason attribute) to the review subscription', async () => {
    const { world, handle } = setup();
    await world.statusStore.create(queuedDoc(world.clock.now()));
    const e = deadLetterEvent({ jobId: JOB, schemaVersion: 99 }, '1', { 'petcutout-dead-letter-reason': 'invalid_message' });
    assert.equal(await handle(e), 'ignored');
    assert.equal((await world.statusStore.get(JOB))?.doc.state, 'queued', 'the job is the worker\'s to end');
    assert.equal(world.publisher.sent.length, 0);
  });

  const unusable: Array<{ name: string; event: unknown }> = [
    { name: 'base64 of garbage', event: deadLetterEvent(Buffer.from('{{{').toString('base64')) },
    { name: 'no data', event: deadLetterEvent('') },
    { name: 'a message naming no job', event: deadLetterEvent({ hello: 'world' }) },
    { name: 'an unknown job with an invalid message', event: deadLetterEvent({ jobId: JOB }) },
    { name: 'not a Pub/Sub event', event: { id: 'x', type: 'something.else', data: {} } },
    { name: 'nothing at all', event: undefined },
  ];
  for (const c of unusable) {
    it(`logs and acknowledges ${c.name}`, async () => {
      const { world, handle } = setup();
      assert.equal(await handle(c.event), 'ignored');
      assert.equal(world.publisher.sent.length, 0);
      assert.ok(world.lines.some((l) => l['severity'] === 'ERROR'));
    });
  }
});
