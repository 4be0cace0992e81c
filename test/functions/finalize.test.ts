import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createFinalizeHandler, type FinalizeSettings } from '../../functions/finalize.js';
import { COMPLETION_PUBLISHED_LABEL, JOB_PUBLISHED_LABEL } from '../../functions/publish.js';
import { JobMessage } from '../../schemas/job.js';
import { fromPubSubMessage } from '../../shared/completion.js';
import { batchJobId } from '../../shared/ids.js';
import { statusObjectName } from '../../shared/paths.js';
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

  it('ignores a later generation of an upload that already has a job', async () => {
    const world = fakeWorld();
    const handle = createFinalizeHandler(world.deps, settings);
    await handle(await photo(world));
    assert.equal(await handle(await photo(world, undefined, '1732380000999999')), 'superseded');
    assert.equal(world.publisher.sent.length, 1);
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
