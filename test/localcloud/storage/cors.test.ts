// Issue 15: a signed GET answered once without an Origin (an <img>, a navigation) must not be
// reused by the browser for a later CORS read of the same URL (a canvas draw, fetch()), so
// every answer on a bucket with CORS rules says `Vary: Origin`, as Cloud Storage does.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { responseCorsHeaders } from './cors.js';
import { BROWSER_ORIGIN, BUCKET, startHarness, testBytes, type Harness } from './harness.js';

describe('storage emulator: Vary: Origin on CORS buckets', () => {
  let h: Harness;
  let url: string;
  before(async () => {
    h = await startHarness();
    await h.storage.bucket(BUCKET).file('jobs/x/cutout.png').save(testBytes(64), { contentType: 'image/png', metadata: { cacheControl: 'private, max-age=300' } });
    [url] = await h.storage
      .bucket(BUCKET)
      .file('jobs/x/cutout.png')
      .getSignedUrl({ version: 'v4', action: 'read', expires: Date.now() + 10 * 60_000 });
  });
  after(async () => {
    await h.close();
  });

  it('a GET without an Origin gets no CORS headers but Vary: Origin', async () => {
    const res = await fetch(url);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    assert.equal(res.headers.get('vary'), 'Origin');
    assert.equal(res.headers.get('cache-control'), 'private, max-age=300', 'the case Vary matters for: a cacheable answer');
  });

  it('the same GET with an allowed Origin gets Access-Control-Allow-Origin and Vary: Origin', async () => {
    const res = await fetch(url, { headers: { Origin: BROWSER_ORIGIN } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), BROWSER_ORIGIN);
    assert.equal(res.headers.get('vary'), 'Origin');
  });

  it('a disallowed Origin, a HEAD and an error answer vary on Origin too', async () => {
    const evil = await fetch(url, { headers: { Origin: 'http://evil.example' } });
    assert.equal(evil.headers.get('access-control-allow-origin'), null);
    assert.equal(evil.headers.get('vary'), 'Origin');
    const head = await fetch(url, { method: 'HEAD' });
    assert.equal(head.headers.get('vary'), 'Origin');
    const unsigned = await fetch(`${h.emu.url}/${BUCKET}/jobs/x/cutout.png`, { headers: { Origin: BROWSER_ORIGIN } });
    assert.equal(unsigned.status, 403);
    assert.equal(unsigned.headers.get('access-control-allow-origin'), BROWSER_ORIGIN, 'a browser can read the error');
    assert.equal(unsigned.headers.get('vary'), 'Origin');
  });

  it('a bucket without CORS rules sends neither', async () => {
    assert.deepEqual(responseCorsHeaders([], undefined, 'GET'), {});
    assert.deepEqual(responseCorsHeaders([], BROWSER_ORIGIN, 'GET'), {});
  });
});
