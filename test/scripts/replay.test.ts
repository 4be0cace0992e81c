// The replay command's rules per job and its arguments; the run against localcloud (the
// review subscription drained, the job finishing) is in test/e2e/pipeline.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobMessage } from '../../schemas/job.js';
import type { JobStatus } from '../../schemas/status.js';
import { main, parseReplayArgs, replayJob, ReplayUsageError, sweepStuck } from '../../scripts/replay.js';
import { newStatus } from '../../shared/job/index.js';
import { withState } from '../shared/job-fixtures.js';
import { fakeStatusStore } from '../gpu-worker/service/fakes.js';

const JOB = 'a'.repeat(32);
const T0 = new Date('2026-12-01T10:00:00Z');
const LATER = new Date('2026-12-01T11:00:00Z');
const source = { bucket: 'uploads', name: `uploads/${JOB}/original`, generation: '1764583200000000', md5Hash: 'bWQ1', contentType: 'image/jpeg' as const, size: 2048, width: 640, height: 480 };

function queued(): JobStatus {
  return newStatus({ jobId: JOB, state: 'queued', trigger: 'upload', source, outputsRequested: ['cutout', 'mask'], clientRef: 'order-7' }, T0);
}
const failedWith = (code: string): JobStatus => withState(withState(queued(), 'processing', T0, { attempts: 5 }), 'failed', T0, { error: { code, message: 'x', retryable: false } });

function world(doc?: JobStatus) {
  const { store } = fakeStatusStore();
  const published: JobMessage[] = [];
  let failPublish: Error | undefined;
  const deps = {
    statusStore: store,
    publish: async (m: JobMessage) => {
      if (failPublish) throw failPublish;
      published.push(m);
      return String(published.length);
    },
    now: () => LATER,
  };
  return { store, deps, published, failNextPublishes: (e: Error | undefined) => (failPublish = e), ready: doc ? store.create(doc) : Promise.resolve() };
}

describe('replay: one job', () => {
  it('reopens a dead-lettered job (error dropped, transition recorded) and publishes its JobMessage rebuilt from the document', async () => {
    const w = world(failedWith('dead_lettered'));
    await w.ready;
    const r = await replayJob(w.deps, JOB);
    assert.equal(r.outcome, 'replayed');
    const doc = (await w.store.get(JOB))!.doc;
    assert.equal(doc.state, 'queued');
    assert.equal(doc.error, undefined);
    assert.equal(doc.attempts, 5, 'attempts keep counting');
    assert.deepEqual(doc.transitions.map((t) => t.state), ['queued', 'processing', 'failed', 'queued']);
    assert.equal(doc.transitions.at(-1)?.at, LATER.toISOString());
    assert.equal(w.published.length, 1);
    assert.deepEqual({ ...w.published[0] }, { schemaVersion: 1, jobId: JOB, trigger: 'upload', source, outputs: ['cutout', 'mask'], clientRef: 'order-7', requestedAt: T0.toISOString() });
  });

  it('a second run publishes again only while the job is still waiting, and a publish that failed is made up by the next run', async () => {
    const w = world(failedWith('dead_lettered'));
    await w.ready;
    w.failNextPublishes(new Error('pubsub down'));
    await assert.rejects(replayJob(w.deps, JOB), /pubsub down/);
    assert.equal((await w.store.get(JOB))?.doc.state, 'queued', 'reopened before the publish');
    w.failNextPublishes(undefined);
    const r = await replayJob(w.deps, JOB);
    assert.equal(r.outcome, 'replayed');
    assert.match(r.detail, /reopened already/);
    assert.equal(w.published.length, 1);
    // Picked up by a worker: nothing more to publish.
    await w.store.update(JOB, (d) => withState(d, 'processing', LATER));
    assert.equal((await replayJob(w.deps, JOB)).outcome, 'left');
    assert.equal(w.published.length, 1);
  });

  for (const [name, doc, outcome, detail] of [
    ['a job that failed for its input', failedWith('corrupt'), 'left', /failed for its input \(corrupt\)/],
    ['an unreadable message the worker failed', failedWith('invalid_message'), 'left', /invalid_message/],
    ['a job that succeeded since', withState(queued(), 'succeeded', T0), 'ended', /already succeeded/],
    ['a rejected upload', withState(queued(), 'rejected', T0, { error: { code: 'corrupt', message: 'x', retryable: false } }), 'ended', /already rejected/],
    ['a job still in flight', withState(queued(), 'processing', T0), 'left', /still processing/],
    ['a job that is only queued', queued(), 'left', /still queued/],
  ] as const) {
    it(`leaves ${name} alone (${outcome})`, async () => {
      const w = world(doc);
      await w.ready;
      const before = await w.store.get(JOB);
      const r = await replayJob(w.deps, JOB);
      assert.equal(r.outcome, outcome);
      assert.match(r.detail, detail);
      assert.deepEqual(w.published, []);
      assert.equal((await w.store.get(JOB))?.generation, before?.generation, 'document untouched');
    });
  }

  it('reports a job with no status document', async () => {
    const w = world();
    assert.deepEqual(await replayJob(w.deps, JOB), { jobId: JOB, outcome: 'left', detail: 'no status document' });
  });
});

describe('replay --stuck: the sweep for jobs whose message went missing', () => {
  const other = (id: string, doc: JobStatus): JobStatus => ({ ...doc, jobId: id, source: { ...doc.source, name: `uploads/${id}/original` } });
  it('publishes again every job queued or processing since before the cutoff, and touches nothing else', async () => {
    const { store } = fakeStatusStore();
    const published: JobMessage[] = [];
    const ids = { oldQueued: '1'.repeat(32), oldProcessing: '2'.repeat(32), freshQueued: '3'.repeat(32), oldSucceeded: '4'.repeat(32), oldFailed: '5'.repeat(32) };
    await store.create(other(ids.oldQueued, queued()));
    await store.create(other(ids.oldProcessing, withState(queued(), 'processing', T0)));
    await store.create(other(ids.freshQueued, newStatus({ jobId: ids.freshQueued, state: 'queued', trigger: 'upload', source, outputsRequested: ['cutout'] }, new Date(LATER.getTime() - 5 * 60_000))));
    await store.create(other(ids.oldSucceeded, withState(queued(), 'succeeded', T0)));
    await store.create(other(ids.oldFailed, failedWith('dead_lettered')));
    const before = await Promise.all(Object.values(ids).map(async (id) => (await store.get(id))?.generation));
    const results = await sweepStuck({ statusStore: store, publish: async (m) => (published.push(m), String(published.length)), now: () => LATER }, [...Object.values(ids), 'f'.repeat(32)], 30 * 60_000);
    assert.deepEqual(results.map((r) => [r.jobId, r.outcome]), [[ids.oldQueued, 'replayed'], [ids.oldProcessing, 'replayed']]);
    assert.match(results[0]!.detail, /queued for 60 min/);
    assert.deepEqual(published.map((m) => m.jobId), [ids.oldQueued, ids.oldProcessing]);
    assert.deepEqual(await Promise.all(Object.values(ids).map(async (id) => (await store.get(id))?.generation)), before, 'no document changed');
  });
});

describe('replay: arguments', () => {
  it('takes job ids, or drains the review subscription', () => {
    assert.deepEqual(parseReplayArgs([]), { jobIds: [], idleSeconds: 5 });
    assert.deepEqual(parseReplayArgs([JOB, '--idle', '20']), { jobIds: [JOB], idleSeconds: 20 });
    assert.deepEqual(parseReplayArgs(['--subscription', 'dl-review']), { jobIds: [], subscription: 'dl-review', idleSeconds: 5 });
    assert.deepEqual(parseReplayArgs(['--stuck', '90']), { jobIds: [], idleSeconds: 5, stuckMinutes: 90 });
  });
  for (const [argv, message] of [
    [['not-a-job'], /is not a job id/],
    [[JOB.toUpperCase()], /is not a job id/],
    [['--idle', '0'], /--idle expects/],
    [['--subscription'], /needs a value/],
    [[JOB, '--subscription', 'x'], /give one of/],
    [[JOB, '--stuck', '60'], /give one of/],
    [['--stuck', '-1'], /--stuck expects minutes/],
    [['--all'], /unknown option --all/],
  ] as const) {
    it(`refuses ${argv.join(' ')}`, () => assert.throws(() => parseReplayArgs(argv), (err: unknown) => err instanceof ReplayUsageError && message.test(err.message)));
  }
  it('exits 2 with the reason on bad arguments or configuration, before touching anything', async () => {
    const lines: string[] = [];
    assert.equal(await main(['nope'], {}, (l) => lines.push(l)), 2);
    assert.match(lines.join('\n'), /not a job id/);
    lines.length = 0;
    assert.equal(await main([JOB], { GOOGLE_CLOUD_PROJECT: 'petcutout-local' }, (l) => lines.push(l)), 2);
    assert.match(lines.join('\n'), /RESULTS_BUCKET/);
  });
});
