/**
 * The worker's side of issue 17 items 1 and 5: a job follows the newest generation of its
 * upload (a message for a superseded generation is acked, never fails the job, never ends
 * it), and the worker reads only what ingest wrote.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { JobMessage } from '../../../schemas/job.js';
import { PermanentError } from '../../../shared/errors.js';
import { batchJobId } from '../../../shared/ids.js';
import { newStatus, queuedFromMessage, toNewerSource } from '../../../shared/job/index.js';
import { shopperMessage } from '../../../shared/messages.js';
import { outputObjectName } from '../../../shared/paths.js';
import { captureLogger } from '../../functions/fakes.js';
import { JOB_ID, RESULTS, UPLOADS, delivery, jobMessage } from './fakes.js';
import { jobHandlerOverFakes } from './job-handler-harness.js';

const NOW = new Date('2026-11-23T18:00:01.000Z');
const T0 = new Date('2026-11-23T18:00:00.000Z');
const NAME = `uploads/${JOB_ID}/original`;

function harness() {
  const { logger, lines } = captureLogger();
  const h = jobHandlerOverFakes({ log: logger, cache: false });
  const { store, statuses } = h;
  return {
    ...h,
    lines,
    /** A PUT of the upload (replacing the earlier one) and its message, as finalize would publish it. */
    put(bytes: Buffer, name = NAME, jobId = JOB_ID): JobMessage {
      const generation = store.put(UPLOADS, name, bytes, 'image/jpeg');
      return jobMessage({ jobId, generation, ...(name === NAME ? {} : { trigger: 'batch' as const, source: { ...jobMessage({ generation }).source, name } }) });
    },
    /** finalize: the first generation's document. */
    async queue(msg: JobMessage): Promise<void> {
      await statuses.create(queuedFromMessage(msg, T0));
    },
    /** finalize for a newer generation: the job follows it. */
    async follow(msg: JobMessage): Promise<void> {
      const moved = await statuses.update(msg.jobId, (d) => toNewerSource(d, queuedFromMessage(msg, NOW), NOW));
      assert.equal(moved?.changed, true, 'the job followed the newer generation');
    },
    logged(event: string) {
      return lines.filter((l) => l['event'] === event);
    },
  };
}

const digestOf = (bytes: Buffer) => createHash('sha1').update(bytes).digest();
const tick = () => new Promise((r) => setImmediate(r));

describe('job handler: a retried upload (a newer generation of the same job)', () => {
  it("a message whose generation a newer PUT replaced before the newer event arrived: acked, the job neither failed nor ended", async () => {
    const h = harness();
    const first = h.put(Buffer.from('first PUT'));
    await h.queue(first);
    h.put(Buffer.from('second PUT'));
    assert.equal(await h.handle(delivery(first)), 'ack');
    const status = await h.status();
    assert.notEqual(status?.state, 'failed');
    assert.equal(status?.error, undefined);
    assert.equal(h.pipeline.calls.length, 0);
    assert.deepEqual(h.events(), [], 'no ending, no event: the newer generation owns the job');
    assert.deepEqual(h.metrics.outcomes, ['skipped']);
    assert.equal(h.logged('job.superseded').length, 1);
  });

  it('a message for a generation the job no longer follows: acked without a claim, whatever the job state', async () => {
    const h = harness();
    const first = h.put(Buffer.from('first PUT'));
    await h.queue(first);
    const second = h.put(Buffer.from('second PUT'));
    await h.follow(second);
    const before = await h.statuses.get(JOB_ID);
    assert.equal(await h.handle(delivery(first)), 'ack');
    assert.equal((await h.statuses.get(JOB_ID))?.generation, before?.generation, 'the document was not written');
    assert.equal(h.pipeline.calls.length, 0);
    assert.deepEqual(h.events(), []);
    // Its own message then runs the job on the newer bytes.
    assert.equal(await h.handle(delivery(second)), 'ack');
    assert.equal((await h.status())?.state, 'succeeded');
    assert.deepEqual(h.pipeline.calls.map((c) => c.bytes.toString()), ['second PUT']);
    // A late redelivery of the older message after the ending: no event of its own.
    assert.equal(await h.handle(delivery(first, 2)), 'ack');
    assert.deepEqual(h.completions.ids(), [`${JOB_ID}:succeeded`]);
  });

  it('a job taken over while its older generation is in the pipeline ends once, with the newer outputs', async () => {
    const h = harness();
    const firstBytes = Buffer.from('first PUT');
    const first = h.put(firstBytes);
    await h.queue(first);
    let open: () => void = () => {};
    h.pipeline.gate = new Promise<void>((r) => (open = r));
    const running = h.handle(delivery(first));
    while (h.pipeline.calls.length === 0) await tick();
    h.pipeline.gate = undefined;
    const secondBytes = Buffer.from('second PUT');
    const second = h.put(secondBytes);
    await h.follow(second);
    // The newer message reaches this same worker while the older run is still in the pipeline:
    // it waits for that run instead of sharing its verdict, and never runs beside it.
    const next = h.handle(delivery(second));
    await tick();
    assert.equal(h.pipeline.calls.length, 1, 'the newer run waits for the older one');
    open();
    assert.deepEqual(await Promise.all([running, next]), ['ack', 'ack']);
    const status = await h.status();
    assert.equal(status?.state, 'succeeded');
    assert.equal(status?.source.generation, second.source.generation);
    assert.deepEqual(status?.transitions.map((t) => t.state), ['queued', 'processing', 'queued', 'processing', 'succeeded']);
    assert.deepEqual(h.store.get(RESULTS, outputObjectName(JOB_ID, 'mask'))?.data, Buffer.concat([Buffer.from('mask:'), digestOf(secondBytes)]), "the outputs are the newer PUT's");
    assert.deepEqual(h.completions.ids(), [`${JOB_ID}:succeeded`], 'one event');
    assert.equal(h.events()[0]?.data.source.generation, second.source.generation);
    assert.deepEqual(h.metrics.outcomes.sort(), ['skipped', 'succeeded']);
  });

  it('a permanent failure of the older generation, after the job moved on, fails nothing', async () => {
    const h = harness();
    const first = h.put(Buffer.from('first PUT'));
    await h.queue(first);
    let open: () => void = () => {};
    h.pipeline.gate = new Promise<void>((r) => (open = r));
    h.pipeline.fail = new PermanentError('corrupt', 'VipsJpeg: premature end of JPEG file');
    const running = h.handle(delivery(first));
    while (h.pipeline.calls.length === 0) await tick();
    await h.follow(h.put(Buffer.from('second PUT')));
    open();
    assert.equal(await running, 'ack');
    assert.equal((await h.status())?.state, 'queued');
    assert.deepEqual(h.events(), []);
  });

  it('a batch drop replaced by a newer generation (another job) still fails source_changed, in words for the shopper', async () => {
    const h = harness();
    const name = 'batch/shoot/rex.jpg';
    const gen = h.store.put(UPLOADS, name, Buffer.from('first'), 'image/jpeg');
    const jobId = batchJobId(UPLOADS, name, gen);
    const msg: JobMessage = { ...jobMessage({ jobId, generation: gen }), trigger: 'batch', source: { ...jobMessage({ generation: gen }).source, name } };
    await h.queue(msg);
    h.store.put(UPLOADS, name, Buffer.from('second'), 'image/jpeg');
    assert.equal(await h.handle(delivery(msg)), 'ack');
    const status = await h.status(jobId);
    assert.equal(status?.state, 'failed');
    assert.equal(status?.error?.code, 'source_changed');
    assert.equal(status?.error?.message, shopperMessage('source_changed'));
    assert.match(status?.error?.detail ?? '', /was replaced: generation \d+ is gone/);
  });

  it("a permanent failure reads as the shopper's sentence, with the library's text in detail", async () => {
    const h = harness();
    const msg = h.put(Buffer.from('photo'));
    await h.queue(msg);
    h.pipeline.fail = new PermanentError('corrupt', 'VipsJpeg: premature end of JPEG file');
    assert.equal(await h.handle(delivery(msg)), 'ack');
    const error = (await h.status())?.error;
    assert.equal(error?.message, shopperMessage('corrupt'));
    assert.match(error?.detail ?? '', /^VipsJpeg: premature end of JPEG file/);
    assert.deepEqual(h.events()[0]?.data.error, error);
  });
});

describe('job handler: reads only what ingest wrote', () => {
  const planted = (bucket: string, name: string): JobMessage => ({ ...jobMessage({ generation: '1700000000000042' }), source: { ...jobMessage({ generation: '1700000000000042' }).source, bucket, name } });
  const cases = [
    { name: 'an object of the results bucket', msg: planted(RESULTS, `jobs/${'f'.repeat(32)}/cutout.png`) },
    { name: 'the uploads bucket outside uploads/ and batch/', msg: planted(UPLOADS, 'elsewhere/cat.jpg') },
    { name: 'a name under uploads/ that is not a server-chosen upload name', msg: planted(UPLOADS, 'uploads/../jobs/x/status.json') },
  ];
  for (const c of cases) {
    it(`a message whose source is ${c.name}: failed invalid_message, never read, logged with the source`, async () => {
      const h = harness();
      h.store.put(c.msg.source.bucket, c.msg.source.name, Buffer.from('someone else'), 'image/png');
      await h.statuses.create(newStatus({ jobId: JOB_ID, state: 'queued', trigger: 'upload', source: c.msg.source, outputsRequested: ['cutout'] }, T0));
      assert.equal(await h.handle(delivery(c.msg)), 'ack');
      const status = await h.status();
      assert.equal(status?.state, 'failed');
      assert.equal(status?.error?.code, 'invalid_message');
      assert.equal(status?.error?.message, shopperMessage('invalid_message'));
      const uri = `gs://${c.msg.source.bucket}/${c.msg.source.name}#${c.msg.source.generation}`;
      assert.ok(status?.error?.detail?.includes(uri), status?.error?.detail);
      assert.deepEqual(status?.transitions.map((t) => t.state), ['queued', 'failed'], 'never claimed');
      assert.equal(h.pipeline.calls.length, 0);
      assert.deepEqual(h.completions.ids(), [`${JOB_ID}:failed`]);
      const [line] = h.logged('message.foreign_source');
      assert.equal(line?.['source'], uri);
      assert.equal(line?.['jobId'], JOB_ID);
      assert.deepEqual(h.metrics.outcomes, ['invalid']);
    });
  }

  it("a message that borrows a real job's id with a foreign source leaves the job alone and goes to a person", async () => {
    const h = harness();
    const real = h.put(Buffer.from('the real photo'));
    await h.queue(real);
    assert.equal(await h.handle(delivery(planted(RESULTS, `jobs/${'f'.repeat(32)}/cutout.png`))), 'ack');
    assert.equal((await h.status())?.state, 'queued');
    assert.equal(h.deadLetters.messages.length, 1);
    assert.equal(h.deadLetters.messages[0]?.attributes['petcutout-dead-letter-reason'], 'invalid_message');
    assert.equal(await h.handle(delivery(real)), 'ack');
    assert.equal((await h.status())?.state, 'succeeded');
  });

  it("an unreadable message that names its job fails it with the shopper's sentence and the reason in detail", async () => {
    const h = harness();
    const msg = h.put(Buffer.from('photo'));
    await h.queue(msg);
    assert.equal(await h.handle(delivery({ ...msg, outputs: ['sparkles'] })), 'ack');
    const error = (await h.status())?.error;
    assert.equal(error?.code, 'invalid_message');
    assert.equal(error?.message, shopperMessage('invalid_message'));
    assert.match(error?.detail ?? '', /^invalid JobMessage: /);
  });
});
