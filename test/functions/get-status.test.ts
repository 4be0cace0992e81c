import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getStatusHandler } from '../../functions/get-status.js';
import { StatusReceived, StatusResponse } from '../../schemas/status.js';
import { newStatus, withPreview } from '../../shared/job/index.js';
import { withState } from '../shared/job-fixtures.js';
import { fakeRequest, fakeResponse, fakeWorld, type FakeWorld } from './fakes.js';

const JOB = '00112233445566778899aabbccddeeff';
const ORIGIN = 'https://shop.example';
const TTL_S = 900;

async function setup(state: 'queued' | 'succeeded' = 'queued') {
  const world = fakeWorld();
  const at = world.clock.now();
  let doc = newStatus({ jobId: JOB, state: 'queued', trigger: 'upload', source: { bucket: 'uploads-bkt', name: `uploads/${JOB}/original` }, outputsRequested: ['cutout', 'mask'] }, at);
  if (state === 'succeeded') {
    doc = withState(withState(doc, 'processing', at), 'succeeded', at, {
      outputs: [
        { kind: 'cutout', bucket: 'results-bkt', name: `jobs/${JOB}/cutout.png`, contentType: 'image/png', size: 10, width: 5, height: 5 },
        { kind: 'mask', bucket: 'results-bkt', name: `jobs/${JOB}/mask.png`, contentType: 'image/png', size: 10, width: 5, height: 5 },
      ],
    });
  }
  await world.statusStore.create(doc);
  return { world, handle: getStatusHandler(world.deps, { uploadsBucket: 'uploads-bkt', resultsBucket: 'results-bkt', downloadUrlTtlSeconds: TTL_S, allowedOrigins: [ORIGIN] }) };
}

async function get(world: FakeWorld, handle: ReturnType<typeof getStatusHandler>, path: string, headers: Record<string, string> = {}) {
  void world;
  const res = fakeResponse();
  await handle(fakeRequest({ method: 'GET', path, headers: { origin: ORIGIN, ...headers } }), res);
  return res;
}

describe('getStatus', () => {
  it('returns the document with an ETag, no-store and CORS', async () => {
    const { world, handle } = await setup();
    const res = await get(world, handle, `/jobs/${JOB}`);
    assert.equal(res.statusCode, 200);
    const body = StatusResponse.parse(res.json());
    assert.equal(body.state, 'queued');
    assert.equal(body.downloads, undefined);
    assert.match(res.headers['etag'] ?? '', /^"\d+\.\d+"$/);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.headers['access-control-allow-origin'], ORIGIN);
    assert.match(res.headers['access-control-expose-headers'] ?? '', /ETag/);
  });

  it('answers 304 to If-None-Match with the current ETag, and 200 once the document moves', async () => {
    const { world, handle } = await setup();
    const etag = (await get(world, handle, `/jobs/${JOB}`)).headers['etag'] ?? '';
    const again = await get(world, handle, `/jobs/${JOB}`, { 'if-none-match': etag });
    assert.equal(again.statusCode, 304);
    assert.equal(again.headers['etag'], etag);
    assert.equal(again.body, undefined);
    assert.equal((await get(world, handle, `/jobs/${JOB}`, { 'if-none-match': `W/${etag}, "other"` })).statusCode, 304);
    await world.statusStore.update(JOB, (d) => withState(d, 'processing', world.clock.now()));
    const moved = await get(world, handle, `/jobs/${JOB}`, { 'if-none-match': etag });
    assert.equal(moved.statusCode, 200);
    assert.notEqual(moved.headers['etag'], etag);
  });

  it('adds short-lived signed GET URLs once succeeded, renewed each half-lifetime', async () => {
    const { world, handle } = await setup('succeeded');
    const res = await get(world, handle, `/jobs/${JOB}`);
    const body = StatusResponse.parse(res.json());
    assert.deepEqual(Object.keys(body.downloads ?? {}).sort(), ['cutout', 'mask']);
    const expires = Date.parse(body.downloads?.['cutout']?.expiresAt ?? '');
    const left = expires - world.clock.ms;
    assert.ok(left >= (TTL_S * 1000) / 2 && left <= TTL_S * 1000, `URL lives ${left} ms`);
    assert.ok(world.objects.signed.every((s) => s.method === 'GET' && s.bucket === 'results-bkt'));
    world.clock.advance((TTL_S * 1000) / 2);
    const later = await get(world, handle, `/jobs/${JOB}`, { 'if-none-match': res.headers['etag'] ?? '' });
    assert.equal(later.statusCode, 200, 'a new window means fresh URLs, not a 304');
  });

  it('signs the preview while the job is still processing, and carries the quality once succeeded', async () => {
    const { world, handle } = await setup();
    const at = world.clock.now();
    const preview = { kind: 'preview' as const, bucket: 'results-bkt', name: `jobs/${JOB}/preview.webp`, contentType: 'image/webp', size: 10, width: 768, height: 512 };
    await world.statusStore.update(JOB, (d) => withState(d, 'processing', at));
    const before = StatusResponse.parse((await get(world, handle, `/jobs/${JOB}`)).json());
    assert.equal(before.downloads, undefined, 'no preview yet, nothing to sign');
    await world.statusStore.update(JOB, (d) => withPreview(d, preview, at));
    const early = StatusResponse.parse((await get(world, handle, `/jobs/${JOB}`)).json());
    assert.equal(early.state, 'processing');
    assert.deepEqual(Object.keys(early.downloads ?? {}), ['preview']);
    assert.ok(world.objects.signed.some((s) => s.name === preview.name && s.method === 'GET'));
    const quality = { score: 0.31, flags: ['uncertain_alpha'] };
    await world.statusStore.update(JOB, (d) => withState(d, 'succeeded', at, { outputs: [preview], quality }));
    const done = StatusResponse.parse((await get(world, handle, `/jobs/${JOB}`)).json());
    assert.deepEqual(done.quality, quality);
    assert.deepEqual(Object.keys(done.downloads ?? {}), ['preview']);
  });

  const badPaths: Array<{ path: string; status: number }> = [
    { path: '/jobs/not-a-job', status: 400 },
    { path: `/jobs/${JOB.toUpperCase()}`, status: 400 },
    { path: `/jobs/${JOB}0`, status: 400 },
    { path: '/jobs/..%2F..%2Fetc%2Fpasswd', status: 400 },
    { path: '/jobs/%E0%A4%A', status: 400 },
    { path: '/jobs/', status: 400 },
    { path: `/jobs/${JOB}/../../x`, status: 404 },
    { path: '/', status: 404 },
    { path: '/status', status: 404 },
    { path: `/jobs/ffffffffffffffffffffffffffffffff`, status: 404 },
  ];
  for (const c of badPaths) {
    it(`answers ${c.status} for ${c.path}`, async () => {
      const { world, handle } = await setup();
      const res = await get(world, handle, c.path);
      assert.equal(res.statusCode, c.status);
      assert.ok((res.json()['error'] as { message: string }).message);
      assert.equal(res.headers['cache-control'], 'no-store');
    });
  }

  it('accepts a prefix before /jobs/{id} (function URL or gateway path)', async () => {
    const { world, handle } = await setup();
    assert.equal((await get(world, handle, `/getStatus/jobs/${JOB}`)).statusCode, 200);
  });

  it('answers 405 for POST and a preflight for an allowed origin', async () => {
    const { handle } = await setup();
    const res = fakeResponse();
    await handle(fakeRequest({ method: 'POST', path: `/jobs/${JOB}`, headers: { origin: ORIGIN } }), res);
    assert.equal(res.statusCode, 405);
    const pre = fakeResponse();
    await handle(fakeRequest({ method: 'OPTIONS', path: `/jobs/${JOB}`, headers: { origin: ORIGIN } }), pre);
    assert.equal(pre.statusCode, 204);
    assert.match(pre.headers['access-control-allow-headers'] ?? '', /If-None-Match/);
  });

  it('answers 202 received, not 404, while an upload waits for its finalize event, then the document', async () => {
    const { world, handle } = await setup();
    const early = 'aabbccddeeff00112233445566778899';
    world.objects.put('uploads-bkt', `uploads/${early}/original`, Buffer.from('jpeg'), '1700000000000001');
    const res = await get(world, handle, `/jobs/${early}`);
    assert.equal(res.statusCode, 202);
    assert.deepEqual(StatusReceived.parse(res.json()), { schemaVersion: 1, jobId: early, state: 'received', message: 'The photo has arrived and is being checked.' });
    assert.equal(res.headers['retry-after'], '1');
    assert.equal(res.headers['etag'], undefined, 'no ETag: nothing to revalidate until the document exists');
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.match(res.headers['access-control-expose-headers'] ?? '', /Retry-After/);
    // An upload for another job does not make this one received.
    assert.equal((await get(world, handle, `/jobs/ffffffffffffffffffffffffffffffff`)).statusCode, 404);
    // A 404 is also what an upload in the results bucket, or under another name, gets.
    world.objects.put('results-bkt', `uploads/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee/original`, Buffer.from('jpeg'), '1');
    assert.equal((await get(world, handle, `/jobs/eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee`)).statusCode, 404);
    // The uploads bucket unreadable: 503 to retry, as for the document itself.
    world.objects.failReads = Object.assign(new Error('503'), { code: 503 });
    const down = await get(world, handle, `/jobs/${early}`);
    assert.equal(down.statusCode, 503);
    assert.equal(down.headers['retry-after'], '2');
  });

  it('answers 503, not 500, when storage fails', async () => {
    const { world, handle } = await setup();
    world.docs.failWith = Object.assign(new Error('503'), { code: 503 });
    const res = await get(world, handle, `/jobs/${JOB}`);
    assert.equal(res.statusCode, 503);
  });
});
