import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createFinalizeHandler, type FinalizeSettings } from '../../functions/finalize.js';
import { COMPLETION_PUBLISHED_LABEL, JOB_PUBLISHED_LABEL } from '../../functions/publish.js';
import { JobMessage } from '../../schemas/job.js';
import { fromPubSubMessage } from '../../shared/completion.js';
import { batchJobId } from '../../shared/ids.js';
import { toFailed, toProcessing, toSucceeded } from '../../shared/job/index.js';
import { shopperMessage } from '../../shared/messages.js';
import { statusObjectName } from '../../shared/paths.js';
import sharp from 'sharp';
import { buildCorpus, CORPUS_LIMITS } from './corpus.js';
import { fakeWorld, type FakeWorld } from './fakes.js';

const BUCKET = 'uploads-bkt';
const JOB = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const GEN = '1732380000123456';
const settings: FinalizeSettings = { uploadsBucket: BUCKET, jobsTopic: 'jobs', completionsTopic: 'completions', limits: CORPUS_LIMITS };

function event(name: string, size: number, contentType: string | undefined, extra: Record<string, unknown> = {}, generation = GEN) {
  return {
    id: `evt-${name}-${generation}`,
    type: 'google.cloud.storage.object.v1.finalized',
    source: `//storage.googleapis.com/projects/_/buckets/${BUCKET}`,
    specversion: '1.0',
    data: { bucket: BUCKET, name, generation, metageneration: '1', size: String(size), ...(contentType ? { contentType } : {}), ...extra },
  };
}

const CORPUS = await buildCorpus();

async function photo(world: FakeWorld, name = `uploads/${JOB}/original`, generation = GEN) {
  const c = CORPUS.find((x) => x.name === 'still WebP');
  assert.ok(c);
  world.objects.put(BUCKET, name, c.body, generation);
  return event(name, c.body.length, 'image/webp', { metadata: { 'petcutout-outputs': 'cutout,bw', 'petcutout-client-ref': encodeURIComponent('order #7') } }, generation);
}

describe('onObjectFinalized: the corpus through the handler', async () => {
  for (const c of CORPUS) {
    it(`${c.name} -> ${c.expected}`, async () => {
      const world = fakeWorld();
      const handle = createFinalizeHandler(world.deps, settings);
      const name = c.trigger === 'batch' ? (c.batchName ?? 'batch/x') : `uploads/${JOB}/original`;
      world.objects.put(BUCKET, name, c.body, GEN);
      const outcome = await handle(event(name, c.body.length, c.declaredType));
      const jobId = c.trigger === 'batch' ? batchJobId(BUCKET, name, GEN) : JOB;
      const doc = (await world.statusStore.get(jobId))?.doc;
      if (c.expected === 'accepted') {
        assert.equal(outcome, 'queued');
        assert.equal(doc?.state, 'queued');
        const jobs = world.publisher.on('jobs');
        assert.equal(jobs.length, 1);
        const msg = JobMessage.parse(jobs[0]?.data);
        assert.equal(msg.jobId, jobId);
        assert.equal(msg.source.contentType, c.acceptedAs);
        assert.equal(msg.source.generation, GEN);
      } else {
        assert.equal(outcome, 'rejected');
        assert.equal(doc?.state, 'rejected');
        assert.equal(doc?.error?.code, c.expected);
        assert.equal(world.publisher.on('jobs').length, 0);
        const completions = world.publisher.sent.filter((s) => s.topic === 'completions');
        assert.equal(completions.length, 1);
        const ce = fromPubSubMessage({ data: completions[0]!.message.data, attributes: completions[0]!.message.attributes ?? {} });
        assert.equal(ce.data.outcome, 'rejected');
        assert.equal(ce.data.error?.code, c.expected);
        const logged = world.lines.find((l) => l['event'] === 'job.rejected');
        assert.equal(logged?.['code'], c.expected);
      }
    });
  }
});

describe('onObjectFinalized: trace context', () => {
  const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
  it("carries the event's traceparent into the JobMessage and the log lines", async () => {
    const world = fakeWorld();
    const handle = createFinalizeHandler(world.deps, settings);
    assert.equal(await handle({ ...(await photo(world)), traceparent: TRACEPARENT }), 'queued');
    assert.deepEqual(JobMessage.parse(world.publisher.on('jobs')[0]?.data).trace, { traceparent: TRACEPARENT });
    assert.ok(world.lines.some((l) => l['event'] === 'job.queued' && String(l['logging.googleapis.com/trace'] ?? l['traceparent'] ?? '').includes('4bf92f3577b34da6a3ce929d0e0e4736')));
  });
  it('sends it on a rejection event as ce-traceparent', async () => {
    const world = fakeWorld();
    const handle = createFinalizeHandler(world.deps, settings);
    world.objects.put(BUCKET, `uploads/${JOB}/original`, Buffer.from('not an image at all'), GEN);
    assert.equal(await handle({ ...event(`uploads/${JOB}/original`, 19, 'image/png'), traceparent: TRACEPARENT }), 'rejected');
    const [sent] = world.publisher.sent.filter((s) => s.topic === 'completions');
    assert.equal(sent?.message.attributes?.['ce-traceparent'], TRACEPARENT);
  });
  it('ignores a malformed traceparent instead of failing the upload', async () => {
    const world = fakeWorld();
    const handle = createFinalizeHandler(world.deps, settings);
    assert.equal(await handle({ ...(await photo(world)), traceparent: 'not-a-trace' }), 'queued');
    assert.equal(JobMessage.parse(world.publisher.on('jobs')[0]?.data).trace, undefined);
  });
});

describe('onObjectFinalized: delivery semantics', () => {
  it('queues once, carrying outputs and clientRef from the signed metadata', async () => {
    const world = fakeWorld();
    const handle = createFinalizeHandler(world.deps, settings);
    assert.equal(await handle(await photo(world)), 'queued');
    const [job] = world.publisher.on('jobs');
    const msg = JobMessage.parse(job?.data);
    assert.deepEqual(msg.outputs, ['cutout', 'bw']);
    assert.equal(msg.clientRef, 'order #7');
    assert.equal(msg.trigger, 'upload');
    assert.equal(job?.attributes['jobId'], JOB);
    const stored = await world.statusStore.get(JOB);
    assert.equal(stored?.labels[JOB_PUBLISHED_LABEL], '1');
    assert.equal(stored?.doc.transitions[0]?.state, 'queued');
  });

  it('publishes nothing for the same event delivered again', async () => {
    const world = fakeWorld();
    const handle = createFinalizeHandler(world.deps, settings);
    const e = await photo(world);
    assert.equal(await handle(e), 'queued');
    assert.equal(await handle(e), 'duplicate');
    assert.equal(await handle(e), 'duplicate');
    assert.equal(world.publisher.sent.length, 1);
    assert.equal(world.objects.reads.length, 1, 'a duplicate does not download again');
  });

  it('two concurrent deliveries still publish one job', async () => {
    const world = fakeWorld();
    const handle = createFinalizeHandler(world.deps, settings);
    const e = await photo(world);
    const outcomes = (await Promise.all([handle(e), handle(e)])).sort();
    assert.deepEqual(outcomes, ['duplicate', 'queued']);
    assert.equal(world.publisher.on('jobs').length, 1);
  });

  it('a publish that fails throws (retry), and the redelivery publishes exactly once', async () => {
    const world = fakeWorld();
    const handle = createFinalizeHandler(world.deps, settings);
    const e = await photo(world);
    world.publisher.failures.push(Object.assign(new Error('14 UNAVAILABLE'), { code: 14 }));
    await assert.rejects(handle(e), /UNAVAILABLE/);
    assert.equal((await world.statusStore.get(JOB))?.doc.state, 'queued', 'the document was created before the crash');
    assert.equal(await handle(e), 'republished');
    assert.equal(await handle(e), 'duplicate');
    assert.equal(world.publisher.on('jobs').length, 1);
  });

  it('a rejection whose completion event failed to publish is re-sent on redelivery', async () => {
    const world = fakeWorld();
    const handle = createFinalizeHandler(world.deps, settings);
    world.objects.put(BUCKET, `uploads/${JOB}/original`, Buffer.from('not an image at all'), GEN);
    const e = event(`uploads/${JOB}/original`, 19, 'image/jpeg');
    world.publisher.failures.push(new Error('unavailable'));
    await assert.rejects(handle(e));
    assert.equal(await handle(e), 'republished');
    assert.equal(await handle(e), 'duplicate');
    assert.equal(world.publisher.on('completions').length, 1);
    assert.equal((await world.statusStore.get(JOB))?.labels[COMPLETION_PUBLISHED_LABEL], '1');
  });

  it('storage unavailable throws so the platform retries, and records nothing', async () => {
    const world = fakeWorld();
    const handle = createFinalizeHandler(world.deps, settings);
    const e = await photo(world);
    world.objects.failReads = Object.assign(new Error('503 Service Unavailable'), { code: 503 });
    await assert.rejects(handle(e), /503/);
    assert.equal(await world.statusStore.get(JOB), undefined);
    world.docs.failWith = Object.assign(new Error('ECONNRESET'), { code: 'ECONNRESET' });
    world.objects.failReads = undefined;
    await assert.rejects(handle(e), /ECONNRESET/);
    world.docs.failWith = undefined;
    assert.equal(await handle(e), 'queued');
  });

  it('a later generation of an upload whose job has not started takes the job over', async () => {
    const world = fakeWorld();
    const handle = createFinalizeHandler(world.deps, settings);
    await handle(await photo(world));
    assert.equal(await handle(await photo(world, undefined, '1732380000999999')), 'replaced');
    const jobs = world.publisher.on('jobs').map((j) => JobMessage.parse(j.data));
    assert.deepEqual(jobs.map((m) => m.source.generation), [GEN, '1732380000999999']);
    assert.equal((await world.statusStore.get(JOB))?.doc.source.generation, '1732380000999999');
  });

  it('gives batch drops a deterministic job id per generation', async () => {
    const world = fakeWorld();
    const handle = createFinalizeHandler(world.deps, settings);
    await handle(await photo(world, 'batch/shoot-1/rex.webp'));
    await handle(await photo(world, 'batch/shoot-1/rex.webp', '1732380000999999'));
    const ids = world.publisher.on('jobs').map((j) => (j.data as { jobId: string }).jobId);
    assert.deepEqual(ids, [batchJobId(BUCKET, 'batch/shoot-1/rex.webp', GEN), batchJobId(BUCKET, 'batch/shoot-1/rex.webp', '1732380000999999')]);
    const msg = JobMessage.parse(world.publisher.on('jobs')[0]?.data);
    assert.equal(msg.trigger, 'batch');
    assert.equal(msg.clientRef, undefined, 'batch drops take no client metadata');
    assert.deepEqual(msg.outputs, ['cutout', 'mask', 'bw', 'preview']);
  });

  const ignored: Array<{ name: string; event: unknown }> = [
    { name: 'an output in the results prefix', event: event(`jobs/${JOB}/cutout.png`, 10, 'image/png') },
    { name: 'a status document', event: event(statusObjectName(JOB), 10, 'application/json') },
    { name: 'another bucket', event: { ...event(`uploads/${JOB}/original`, 10, 'image/png'), data: { ...event('x', 1, undefined).data, bucket: 'results-bkt', name: `uploads/${JOB}/original` } } },
    { name: 'a client-chosen name under uploads/', event: event('uploads/../../etc/passwd', 10, 'image/png') },
    { name: 'a malformed job id', event: event('uploads/ABC/original', 10, 'image/png') },
    { name: 'a batch "folder" placeholder', event: event('batch/shoot-1/', 0, undefined) },
    { name: 'an event with no data', event: { id: '1', type: 'google.cloud.storage.object.v1.finalized' } },
    { name: 'an event of another type', event: { ...event('batch/x.jpg', 1, 'image/jpeg'), type: 'google.cloud.storage.object.v1.deleted' } },
    { name: 'a non-object', event: 'garbage' },
  ];
  for (const c of ignored) {
    it(`ignores ${c.name}`, async () => {
      const world = fakeWorld();
      const handle = createFinalizeHandler(world.deps, settings);
      assert.equal(await handle(c.event), 'ignored');
      assert.equal(world.publisher.sent.length, 0);
      assert.equal(world.docs.writes, 0);
    });
  }

  it('an oversized object is rejected from the event size, without downloading it', async () => {
    const world = fakeWorld();
    const handle = createFinalizeHandler(world.deps, settings);
    assert.equal(await handle(event(`uploads/${JOB}/original`, 60 * 1024 * 1024, 'image/jpeg')), 'rejected');
    assert.equal(world.objects.reads.length, 0);
    assert.equal((await world.statusStore.get(JOB))?.doc.error?.code, 'too_large');
  });

  it('a generation that vanished before the read is rejected as source_missing', async () => {
    const world = fakeWorld();
    const handle = createFinalizeHandler(world.deps, settings);
    assert.equal(await handle(event(`uploads/${JOB}/original`, 1000, 'image/jpeg')), 'rejected');
    assert.equal((await world.statusStore.get(JOB))?.doc.error?.code, 'source_missing');
  });
});

describe('onObjectFinalized: a retried upload (several PUTs of one signed URL)', () => {
  const NAME = `uploads/${JOB}/original`;
  const G = ['1732380000100000', '1732380000200000', '1732380000300000'] as const;
  // Visibly different images per PUT: the document's dimensions say whose bytes it took.
  const SIZES = [
    [80, 60],
    [96, 72],
    [120, 90],
  ] as const;
  const image = (i: number) => sharp({ create: { width: SIZES[i]![0], height: SIZES[i]![1], channels: 3, background: { r: 40 * i, g: 90, b: 200 } } }).webp().toBuffer();

  /** The i-th PUT lands (replacing the earlier ones, as in a bucket without versioning); its event, for later. */
  async function put(world: FakeWorld, i: number, body?: Buffer) {
    const bytes = body ?? (await image(i));
    world.objects.replace(BUCKET, NAME, bytes, G[i]!);
    return event(NAME, bytes.length, 'image/webp', { metadata: { 'petcutout-outputs': 'cutout,bw' } }, G[i]);
  }
  const doc = async (world: FakeWorld) => (await world.statusStore.get(JOB))?.doc;
  const jobGenerations = (world: FakeWorld) => world.publisher.on('jobs').map((j) => JobMessage.parse(j.data).source.generation);

  it('PUTs back to back: the first event finds its generation gone and is a no-op, not a source_missing rejection', async () => {
    const world = fakeWorld();
    const handle = createFinalizeHandler(world.deps, settings);
    const first = await put(world, 0);
    const second = await put(world, 1);
    assert.equal(await handle(first), 'superseded');
    assert.equal(await doc(world), undefined, 'no document for a superseded generation');
    assert.equal(await handle(second), 'queued');
    assert.equal((await doc(world))?.source.generation, G[1]);
    assert.deepEqual([(await doc(world))?.source.width, (await doc(world))?.source.height], [96, 72]);
    assert.deepEqual(jobGenerations(world), [G[1]]);
    assert.equal(world.publisher.on('completions').length, 0, 'no rejection event');
    assert.ok(world.lines.some((l) => l['event'] === 'finalize.superseded' && l['liveGeneration'] === G[1]));
  });

  it('events out of order (newer first): the older one is a no-op, whether or not its bytes are still readable', async () => {
    for (const stillReadable of [false, true]) {
      const world = fakeWorld();
      const handle = createFinalizeHandler(world.deps, settings);
      const first = await put(world, 0);
      const second = await put(world, 1);
      if (stillReadable) world.objects.put(BUCKET, NAME, await image(0), G[0]);
      assert.equal(await handle(second), 'queued');
      const before = await world.statusStore.get(JOB);
      assert.equal(await handle(first), 'superseded', `readable: ${stillReadable}`);
      assert.equal(await handle(first), 'superseded', 'and again on redelivery');
      const afterwards = await world.statusStore.get(JOB);
      assert.equal(afterwards?.generation, before?.generation, 'the document was not written');
      assert.deepEqual(jobGenerations(world), [G[1]]);
      assert.equal(world.objects.reads.filter((r) => r.endsWith(`#${G[0]}`)).length, 0, 'a superseded generation is not even downloaded');
    }
  });

  it('PUTs further apart: the job queued for the first generation follows the second, still queued or already processing', async () => {
    for (const claimed of [false, true]) {
      const world = fakeWorld();
      const handle = createFinalizeHandler(world.deps, settings);
      assert.equal(await handle(await put(world, 0)), 'queued');
      if (claimed) await world.statusStore.update(JOB, (d) => toProcessing(d, world.clock.now()));
      const second = await put(world, 1);
      assert.equal(await handle(second), 'replaced');
      const d = await doc(world);
      assert.equal(d?.state, 'queued');
      assert.equal(d?.source.generation, G[1]);
      assert.deepEqual([d?.source.width, d?.source.height], [96, 72]);
      assert.deepEqual(d?.transitions.map((t) => t.state), claimed ? ['queued', 'processing', 'queued'] : ['queued']);
      assert.deepEqual(d?.outputsRequested, ['cutout', 'bw']);
      assert.deepEqual(jobGenerations(world), [G[0], G[1]], 'the newer generation is published: its message owns the job');
      assert.equal((await world.statusStore.get(JOB))?.labels[JOB_PUBLISHED_LABEL], '2');
      assert.equal(await handle(second), 'duplicate', 'a redelivery of the newer event');
      assert.equal(await handle(await event(NAME, 10, 'image/webp', {}, G[0])), 'superseded', 'a redelivery of the older one');
      assert.equal(world.publisher.on('jobs').length, 2);
    }
  });

  it('three PUTs, their events in every order: the job ends up on the last generation, each generation published at most once', async () => {
    const orders = [
      [0, 1, 2],
      [0, 2, 1],
      [1, 0, 2],
      [1, 2, 0],
      [2, 0, 1],
      [2, 1, 0],
    ];
    for (const order of orders) {
      for (const landed of ['all before the events', 'each before its event'] as const) {
        const world = fakeWorld();
        const handle = createFinalizeHandler(world.deps, settings);
        const events = [];
        if (landed === 'all before the events') {
          for (const i of [0, 1, 2]) events.push(await put(world, i));
          for (const i of order) await handle(events[i]);
        } else {
          // Each PUT lands just before its own event is handled, in PUT order; events for earlier PUTs may come late.
          for (const i of [0, 1, 2]) events.push(await put(world, i));
          world.objects.replace(BUCKET, NAME, await image(0), G[0]);
          const latest = { i: 0 };
          for (const i of order) {
            for (let j = latest.i + 1; j <= i; j++) world.objects.replace(BUCKET, NAME, await image(j), G[j]!);
            latest.i = Math.max(latest.i, i);
            await handle(events[i]);
          }
          for (let j = latest.i + 1; j <= 2; j++) {
            world.objects.replace(BUCKET, NAME, await image(j), G[j]!);
            await handle(events[j]);
          }
        }
        const label = `${order.join('')}, ${landed}`;
        const d = await doc(world);
        assert.equal(d?.state, 'queued', label);
        assert.equal(d?.source.generation, G[2], label);
        assert.deepEqual([d?.source.width, d?.source.height], [120, 90], label);
        const published = jobGenerations(world);
        assert.equal(published.at(-1), G[2], `${label}: the last message published is the last generation's`);
        assert.equal(new Set(published).size, published.length, `${label}: no generation twice`);
        assert.equal(world.publisher.on('completions').length, 0, label);
      }
    }
  });

  it('two events handled at once, both generations still readable: the document ends on the newer one', async () => {
    for (const order of [
      [0, 1],
      [1, 0],
    ]) {
      const world = fakeWorld();
      const handle = createFinalizeHandler(world.deps, settings);
      const events = [await put(world, 0), await put(world, 1)];
      world.objects.put(BUCKET, NAME, await image(0), G[0]);
      await Promise.all(order.map((i) => handle(events[i])));
      assert.equal((await doc(world))?.source.generation, G[1], order.join(''));
      assert.equal(jobGenerations(world).at(-1), G[1], order.join(''));
    }
  });

  it('a newer PUT that is not an image rejects the job with the newer source, and its rejection event goes out', async () => {
    const world = fakeWorld();
    const handle = createFinalizeHandler(world.deps, settings);
    assert.equal(await handle(await put(world, 0)), 'queued');
    assert.equal(await handle(await put(world, 1, Buffer.from('RIFF....WEBPVP8 not really'))), 'rejected');
    const d = await doc(world);
    assert.equal(d?.state, 'rejected');
    assert.equal(d?.source.generation, G[1]);
    assert.equal(d?.error?.message, shopperMessage(d?.error?.code ?? ''));
    const [sent] = world.publisher.sent.filter((s) => s.topic === 'completions');
    const ce = fromPubSubMessage({ data: sent!.message.data, attributes: sent!.message.attributes ?? {} });
    assert.equal(ce.data.outcome, 'rejected');
    assert.equal(ce.data.source.generation, G[1]);
  });

  it('a job that has ended ignores a later PUT (the slot is one-shot): no change, nothing published, logged', async () => {
    for (const end of ['succeeded', 'failed'] as const) {
      const world = fakeWorld();
      const handle = createFinalizeHandler(world.deps, settings);
      await handle(await put(world, 0));
      const now = world.clock.now();
      await world.statusStore.update(JOB, (d) => toProcessing(d, now));
      await world.statusStore.update(JOB, (d) =>
        end === 'succeeded' ? toSucceeded(d, { outputs: [], model: { id: 'm', provider: 'cpu' }, timingsMs: {}, cacheHit: false }, now) : toFailed(d, { code: 'corrupt', message: 'x', retryable: false }, now),
      );
      const before = await world.statusStore.get(JOB);
      const sent = world.publisher.sent.length;
      assert.equal(await handle(await put(world, 1)), 'too_late', end);
      assert.equal((await world.statusStore.get(JOB))?.generation, before?.generation);
      assert.equal(world.publisher.sent.length, sent);
      assert.ok(world.lines.some((l) => l['event'] === 'finalize.too_late' && l['state'] === end));
    }
  });

  it('a batch drop replaced by a newer generation is another job: the older event still records source_missing', async () => {
    const world = fakeWorld();
    const handle = createFinalizeHandler(world.deps, settings);
    const name = 'batch/shoot-1/rex.webp';
    const old = await photo(world, name);
    world.objects.replace(BUCKET, name, await image(1), '1732380000999999');
    assert.equal(await handle(old), 'rejected');
    assert.equal((await world.statusStore.get(batchJobId(BUCKET, name, GEN)))?.doc.error?.code, 'source_missing');
  });
});
