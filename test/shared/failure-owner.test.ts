// One owner per failure (README, design notes): an unreadable message is the worker's alone.
// These race the worker's invalid-message path against onDeadLetter on the same job, with
// the shared status store's reads and writes interleaved every way a seeded jitter finds.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDeadLetterHandler } from '../../functions/dead-letter.js';
import { CompletionPublisher } from '../../gpu-worker/service/completion-publisher.js';
import { createJobHandler } from '../../gpu-worker/service/job-handler.js';
import { OutputCache, ResultsWriter } from '../../gpu-worker/service/outputs.js';
import type { PubSubMessageOut } from '../../gpu-worker/service/ports.js';
import { fromPubSubMessage } from '../../shared/completion.js';
import { deadLetterAttributes, jobMessageFor, newStatus } from '../../shared/job/index.js';
import { createStatusStore, type DocObjects } from '../../shared/status-store.js';
import { FakeDocObjects, fakeWorld } from '../functions/fakes.js';
import { FakeBlobStore, FakePipeline, FakePublisher, JOB_ID, RESULTS, RecordingMetrics, UPLOADS, delivery, jobMessage, silentLogger } from '../gpu-worker/service/fakes.js';

/** Every store operation first waits 0-3 turns of the event loop, chosen by a seeded generator. */
function jittery(objects: DocObjects, seed: number): DocObjects {
  let state = seed;
  const pause = async (): Promise<void> => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    for (let i = 0; i < (state >>> 16) % 4; i++) await new Promise<void>((r) => setImmediate(r));
  };
  return {
    stat: async (name) => (await pause(), objects.stat(name)),
    read: async (name) => (await pause(), objects.read(name)),
    write: async (name, body, generation) => (await pause(), objects.write(name, body, generation)),
    setLabels: async (name, labels, metageneration) => (await pause(), objects.setLabels(name, labels, metageneration)),
  };
}

/** The worker and onDeadLetter over one status store; what the worker dead-letters reaches onDeadLetter, as Pub/Sub would deliver it. */
function system(seed: number) {
  const world = fakeWorld();
  const statusStore = createStatusStore(jittery(new FakeDocObjects(), seed), { sleep: async () => {} });
  const onDeadLetter = createDeadLetterHandler({ ...world.deps, statusStore }, { completionsTopic: 'completions' });
  const deadLettered: Array<Promise<unknown>> = [];
  const deadLetterTopic = {
    async publishMessage(m: PubSubMessageOut): Promise<string> {
      deadLettered.push(onDeadLetter(deadLetterEvent(m)));
      return String(deadLettered.length);
    },
  };
  const workerEvents = new FakePublisher();
  const store = new FakeBlobStore();
  const handle = createJobHandler({
    log: silentLogger(),
    statusStore,
    store,
    results: new ResultsWriter(store, RESULTS),
    cache: new OutputCache(store, RESULTS),
    pipeline: () => new FakePipeline(),
    completions: new CompletionPublisher(workerEvents, '//petcutout/gpu-worker'),
    deadLetters: deadLetterTopic,
    metrics: new RecordingMetrics(),
    maxDeliveryAttempts: 5,
    uploadsBucket: UPLOADS,
  });
  /** Completion events from both deployables, as [id, source]. */
  const events = (): string[][] =>
    [...workerEvents.messages, ...world.publisher.sent.map((s) => ({ data: s.message.data, attributes: s.message.attributes ?? {} }))].map((m) => {
      const e = fromPubSubMessage(m);
      return [e.id, e.source];
    });
  return { statusStore, handle, onDeadLetter, deadLettered, events };
}

function deadLetterEvent(m: { data: Buffer; attributes: Record<string, string> }, deliveryCount?: string) {
  return {
    id: 'dl-1',
    type: 'google.cloud.pubsub.topic.v1.messagePublished',
    data: {
      message: {
        data: m.data.toString('base64'),
        attributes: { ...m.attributes, ...(deliveryCount ? { CloudPubSubDeadLetterSourceDeliveryCount: deliveryCount } : {}) },
        messageId: 'dl-1',
      },
      subscription: 'projects/p/subscriptions/jobs-dead-letter-fn',
    },
  };
}

const SEEDS = Array.from({ length: 40 }, (_, i) => i + 1);

describe('one owner per failure: an unreadable message', () => {
  it('ends its job failed with invalid_message, one event from the worker, however it races onDeadLetter', async () => {
    const codes = new Set<string | undefined>();
    const runs: Array<{ seed: number; verdict: string; dl: unknown; events: string[][]; deadLettered: number }> = [];
    for (const seed of SEEDS) {
      const s = system(seed);
      const msg = jobMessage({ generation: '17' });
      await s.statusStore.create(newStatus({ jobId: JOB_ID, state: 'queued', trigger: 'upload', source: msg.source, outputsRequested: msg.outputs }, new Date()));
      const unreadable = delivery({ ...jobMessageFor((await s.statusStore.get(JOB_ID))!.doc), outputs: ['sparkles'] });
      // What the worker published to the dead-letter topic for the same message before one
      // owner was decided (an older worker during a rollout still does), racing the worker.
      const oldDeadLetter = deadLetterEvent({ data: unreadable.data, attributes: deadLetterAttributes(unreadable, 'invalid JobMessage') });
      const [verdict, dl] = await Promise.all([s.handle(unreadable), s.onDeadLetter(oldDeadLetter)]);
      await Promise.all(s.deadLettered);
      codes.add((await s.statusStore.get(JOB_ID))?.doc.error?.code);
      runs.push({ seed, verdict, dl, events: s.events(), deadLettered: s.deadLettered.length });
    }
    assert.deepEqual([...codes], ['invalid_message'], 'one final code, whoever gets there first');
    for (const r of runs) {
      assert.equal(r.verdict, 'ack', `seed ${r.seed}`);
      assert.equal(r.dl, 'ignored', `seed ${r.seed}: onDeadLetter leaves the worker's dead letter alone`);
      assert.deepEqual(r.events, [[`${JOB_ID}:failed`, '//petcutout/gpu-worker']], `seed ${r.seed}: one event, from the owner`);
      assert.equal(r.deadLettered, 0, `seed ${r.seed}: a message its job recorded is not dead-lettered as well`);
    }
  });

  it('that names no recordable job is dead-lettered by the worker and left alone by onDeadLetter', async () => {
    for (const seed of SEEDS.slice(0, 10)) {
      const s = system(seed);
      // Names a job that has no status document: nothing can record it, a person must look.
      assert.equal(await s.handle(delivery({ jobId: JOB_ID, schemaVersion: 99 })), 'ack');
      assert.equal(s.deadLettered.length, 1);
      assert.deepEqual(await Promise.all(s.deadLettered), ['ignored']);
      assert.equal(await s.statusStore.get(JOB_ID), undefined, 'onDeadLetter created no document for it');
      assert.deepEqual(s.events(), []);
    }
  });

  it('reaches onDeadLetter from Pub/Sub only when the worker never recorded it, and then ends dead_lettered', async () => {
    const s = system(1);
    const msg = jobMessage({ generation: '17' });
    await s.statusStore.create(newStatus({ jobId: JOB_ID, state: 'queued', trigger: 'upload', source: msg.source, outputsRequested: msg.outputs }, new Date()));
    // Every delivery was nacked (the store was down), so Pub/Sub dead-lettered the original, without the worker's mark.
    const original = delivery({ jobId: JOB_ID, schemaVersion: 99 });
    assert.equal(await s.onDeadLetter(deadLetterEvent({ data: original.data, attributes: {} }, '5')), 'failed');
    assert.equal((await s.statusStore.get(JOB_ID))?.doc.error?.code, 'dead_lettered');
    // A straggler delivery to the worker afterwards changes nothing and sends nothing.
    assert.equal(await s.handle(original), 'ack');
    assert.equal((await s.statusStore.get(JOB_ID))?.doc.error?.code, 'dead_lettered');
    assert.deepEqual(s.events(), [[`${JOB_ID}:failed`, '//petcutout/functions']]);
  });
});
