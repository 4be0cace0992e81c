import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Storage } from '@google-cloud/storage';
import type { JobStatus } from '../../schemas/status.js';
import { RetryableError } from '../../shared/errors.js';
import { statusObjectName } from '../../shared/paths.js';
import { isTerminal, newStatus } from '../../shared/job/index.js';
import { createStatusStore, gcsDocObjects } from '../../shared/status-store.js';
import { withState } from './job-fixtures.js';
import { startStorageEmulator, type StorageEmulator } from '../localcloud/storage/index.js';
import { FakeDocObjects } from '../functions/fakes.js';

const JOB = '0123456789abcdef0123456789abcdef';
const T0 = new Date('2026-11-23T10:00:00.000Z');
const T1 = new Date('2026-11-23T10:00:05.000Z');

function queued(): JobStatus {
  return newStatus({ jobId: JOB, state: 'queued', trigger: 'upload', source: { bucket: 'uploads-bkt', name: `uploads/${JOB}/original` }, outputsRequested: ['cutout'] }, T0);
}

function setup(maxAttempts?: number) {
  const objects = new FakeDocObjects();
  const waits: number[] = [];
  const store = createStatusStore(objects, { sleep: async (ms) => void waits.push(ms), ...(maxAttempts ? { maxAttempts } : {}) });
  return { objects, store, waits };
}

describe('status store', () => {
  it('creates only once; a second create returns the stored document untouched', async () => {
    const { store, objects } = setup();
    const first = await store.create(queued());
    assert.equal(first.created, true);
    const second = await store.create(withState(queued(), 'failed', T1));
    assert.equal(second.created, false);
    assert.equal(second.stored.doc.state, 'queued');
    assert.equal(second.stored.generation, first.stored.generation);
    assert.equal(objects.writes, 1);
  });

  it('records a timestamp for every transition', async () => {
    const { store } = setup();
    await store.create(queued());
    const r = await store.update(JOB, (d) => withState(d, 'processing', T1, { attempts: d.attempts + 1 }));
    assert.ok(r?.changed);
    assert.deepEqual(r.stored.doc.transitions, [
      { state: 'queued', at: T0.toISOString() },
      { state: 'processing', at: T1.toISOString() },
    ]);
    assert.equal(r.stored.doc.updatedAt, T1.toISOString());
    assert.equal(r.stored.doc.createdAt, T0.toISOString());
    assert.equal((await store.get(JOB))?.doc.attempts, 1);
  });

  it('retries a compare-and-swap that lost a race, re-applying the change to the newer document', async () => {
    const { store, objects, waits } = setup();
    await store.create(queued());
    let raced = false;
    objects.beforeWrite = (name) => {
      if (raced) return;
      raced = true;
      // Another writer moves the job to processing between our read and our write.
      objects.put(name, Buffer.from(JSON.stringify(withState(queued(), 'processing', T1, { attempts: 1 }))));
    };
    let calls = 0;
    const r = await store.update(JOB, (d) => {
      calls++;
      return withState(d, 'failed', T1, { attempts: d.attempts + 1 });
    });
    assert.equal(calls, 2);
    assert.equal(waits.length, 1);
    assert.deepEqual(r?.stored.doc.transitions.map((t) => t.state), ['queued', 'processing', 'failed']);
    assert.equal(r?.stored.doc.attempts, 2);
  });

  it('gives up with a retryable conflict when the document never stops changing', async () => {
    const { store, objects } = setup(3);
    await store.create(queued());
    objects.beforeWrite = (name) => void objects.put(name, Buffer.from(JSON.stringify(queued())));
    await assert.rejects(store.update(JOB, (d) => withState(d, 'processing', T1)), (err: unknown) => err instanceof RetryableError && err.code === 'conflict');
  });

  it('swaps on a known current document without reading it', async () => {
    const { store, objects, waits } = setup();
    const created = await store.create(queued());
    const reads = objects.reads;
    const r = await store.update(JOB, (d) => withState(d, 'processing', T1, { attempts: d.attempts + 1 }), created.stored);
    assert.equal(r?.changed, true);
    assert.equal(objects.reads, reads, 'no read');
    assert.equal(objects.writes, 2);
    assert.deepEqual(waits, []);
    assert.equal((await store.get(JOB))?.doc.state, 'processing');
    assert.equal(r?.stored.generation, (await store.head(JOB))?.generation);
  });

  it('a known document that is no longer current: the change is applied to the current one, at once', async () => {
    const { store, objects, waits } = setup();
    const created = await store.create(queued());
    // Another writer moved the job on since this caller stored it.
    objects.put(statusObjectName(JOB), Buffer.from(JSON.stringify(withState(queued(), 'processing', T1, { attempts: 1 }))));
    const seen: string[] = [];
    const r = await store.update(
      JOB,
      (d) => {
        seen.push(d.state);
        return withState(d, 'failed', T1, { attempts: d.attempts + 1 });
      },
      created.stored,
    );
    assert.deepEqual(seen, ['queued', 'processing'], 'tried on the known document, then on the current one');
    assert.deepEqual(r?.stored.doc.transitions.map((t) => t.state), ['queued', 'processing', 'failed']);
    assert.equal(r?.stored.doc.attempts, 2);
    assert.deepEqual(waits, [], 'a stale guess is not contention: no back-off');
  });

  it('"no change" on a known document is decided on the current one', async () => {
    const { store, objects } = setup();
    const created = await store.create(queued());
    objects.put(statusObjectName(JOB), Buffer.from(JSON.stringify(withState(queued(), 'processing', T1, { attempts: 1 }))));
    // No change wanted for a queued document, a change for a processing one.
    const r = await store.update(JOB, (d) => (d.state === 'queued' ? undefined : withState(d, 'failed', T1)), created.stored);
    assert.equal(r?.changed, true);
    assert.equal(r?.stored.doc.state, 'failed');
  });

  const noops: Array<{ name: string; change: (d: JobStatus) => JobStatus | undefined }> = [{ name: 'change returns undefined', change: () => undefined }];
  for (const { name, change } of noops) {
    it(`writes nothing when ${name}`, async () => {
      const { store, objects } = setup();
      await store.create(queued());
      const r = await store.update(JOB, change);
      assert.equal(r?.changed, false);
      assert.equal(objects.writes, 1);
    });
  }

  it('resolves undefined for an unknown job, on update, get and head', async () => {
    const { store } = setup();
    assert.equal(await store.update(JOB, (d) => d), undefined);
    assert.equal(await store.get(JOB), undefined);
    assert.equal(await store.head(JOB), undefined);
  });

  it('refuses to write a document that breaks the schema', async () => {
    const { store } = setup();
    await store.create(queued());
    await assert.rejects(store.update(JOB, (d) => ({ ...d, state: 'exploded' as never })), /invalid JobStatus: state/);
  });

  it('labels the current generation without changing the document', async () => {
    const { store, objects } = setup();
    const created = await store.create(queued());
    await store.label(JOB, { published: '42' });
    const head = await store.head(JOB);
    assert.equal(head?.generation, created.stored.generation);
    assert.equal(head?.labels['published'], '42');
    assert.equal(objects.writes, 1);
    assert.ok(objects.docs.has(statusObjectName(JOB)));
  });

  it('knows the terminal states', () => {
    assert.deepEqual((['queued', 'processing', 'succeeded', 'failed', 'rejected'] as const).map(isTerminal), [false, false, true, true, true]);
  });
});

describe('status store over Cloud Storage (gcsDocObjects, against the storage emulator)', () => {
  let emulator: StorageEmulator;
  let dir: string;
  let storage: Storage;
  const BUCKET = 'results-bkt';

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'status-store-'));
    emulator = await startStorageEmulator({ dataDir: dir, projectId: 'petcutout-local', buckets: [{ name: BUCKET }] });
    storage = new Storage({ projectId: 'petcutout-local', apiEndpoint: emulator.url });
  });
  after(async () => {
    await emulator?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates once even when five writers race', async () => {
    const store = createStatusStore(gcsDocObjects(storage.bucket(BUCKET)));
    const results = await Promise.all(Array.from({ length: 5 }, () => store.create(queued())));
    assert.equal(results.filter((r) => r.created).length, 1);
    assert.ok(results.every((r) => r.stored.generation === results[0]?.stored.generation));
  });

  it('applies every one of ten concurrent compare-and-swap updates exactly once', async () => {
    const store = createStatusStore(gcsDocObjects(storage.bucket(BUCKET)), { maxAttempts: 50 });
    await Promise.all(Array.from({ length: 10 }, () => store.update(JOB, (d) => ({ ...d, attempts: d.attempts + 1 }))));
    const stored = await store.get(JOB);
    assert.equal(stored?.doc.attempts, 10);
  });

  it('keeps labels across a metadata patch and reads them back with the generation', async () => {
    const store = createStatusStore(gcsDocObjects(storage.bucket(BUCKET)));
    const before = await store.head(JOB);
    await store.label(JOB, { 'petcutout-job-published': '7' });
    const after = await store.head(JOB);
    assert.equal(after?.generation, before?.generation);
    assert.equal(after?.labels['petcutout-job-published'], '7');
    const [meta] = await storage.bucket(BUCKET).file(statusObjectName(JOB)).getMetadata();
    assert.equal(meta.cacheControl, 'no-store');
  });

  it("swaps on the generation a write returned (a worker's claim, preview, end), and a stale one falls back to reading", async () => {
    const store = createStatusStore(gcsDocObjects(storage.bucket(BUCKET)));
    const start = await store.get(JOB);
    assert.ok(start);
    const one = await store.update(JOB, (d) => ({ ...d, attempts: d.attempts + 1 }), start);
    const two = await store.update(JOB, (d) => ({ ...d, attempts: d.attempts + 1 }), one!.stored);
    assert.equal(two?.stored.doc.attempts, start.doc.attempts + 2);
    assert.equal(two?.stored.generation, (await store.head(JOB))?.generation, 'the returned generation is the stored one');
    // `one` is stale now: the real 412 sends the change to the current document.
    const three = await store.update(JOB, (d) => ({ ...d, attempts: d.attempts + 1 }), one!.stored);
    assert.equal(three?.stored.doc.attempts, start.doc.attempts + 3);
    assert.equal((await store.get(JOB))?.doc.attempts, start.doc.attempts + 3);
  });
});
