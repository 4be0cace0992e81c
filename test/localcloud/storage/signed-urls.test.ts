// Spec item 11: V4 signed URLs made by the official client (`getSignedUrl`), used the way a
// browser uses them (fetch with the signed headers, CORS preflight first).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BROWSER_ORIGIN, BUCKET, useHarness, testBytes } from './harness.js';

const CONTENT_TYPE = 'image/png';
const RANGE = '0,1000';

describe('storage emulator: V4 signed URLs and CORS', () => {
  const h = useHarness();

  async function signedPutUrl(name: string, expiresInMs = 15 * 60_000): Promise<string> {
    const [url] = await h.storage
      .bucket(BUCKET)
      .file(name)
      .getSignedUrl({
        version: 'v4',
        action: 'write',
        contentType: CONTENT_TYPE,
        extensionHeaders: { 'x-goog-content-length-range': RANGE },
        expires: Date.now() + expiresInMs,
      });
    return url;
  }

  /** What a browser sends for `fetch(url, { method: 'PUT', headers, body })`. */
  function browserPut(url: string, body: Uint8Array | ReadableStream<Uint8Array>, headers: Record<string, string> = {}): Promise<Response> {
    const init: RequestInit & { duplex?: 'half' } = {
      method: 'PUT',
      headers: { 'Content-Type': CONTENT_TYPE, 'x-goog-content-length-range': RANGE, Origin: BROWSER_ORIGIN, ...headers },
      body,
    };
    if (body instanceof ReadableStream) init.duplex = 'half';
    return fetch(url, init);
  }

  it('the signed URL points at the emulator, path style', async () => {
    const url = new URL(await signedPutUrl('photos/cat.png'));
    assert.equal(url.origin, h.emu.url);
    assert.equal(url.pathname, `/${BUCKET}/photos/cat.png`);
    assert.equal(url.searchParams.get('X-Goog-Algorithm'), 'GOOG4-RSA-SHA256');
    assert.equal(url.searchParams.get('X-Goog-SignedHeaders'), 'content-type;host;x-goog-content-length-range');
  });

  it('a valid signed PUT succeeds and the object is readable through the client', async () => {
    const body = testBytes(900, 2);
    const res = await browserPut(await signedPutUrl('photos/ok file+1.png'), body);
    assert.equal(res.status, 200, await res.text());
    assert.equal(res.headers.get('access-control-allow-origin'), BROWSER_ORIGIN);
    const file = h.storage.bucket(BUCKET).file('photos/ok file+1.png');
    const [meta] = await file.getMetadata();
    assert.equal(meta.contentType, CONTENT_TYPE);
    assert.equal(res.headers.get('x-goog-generation'), String(meta.generation));
    assert.ok((await file.download())[0].equals(body));
  });

  const rejections: Array<{ name: string; status: number; code: string; run: (url: string) => Promise<Response> }> = [
    {
      name: 'tampered signature',
      status: 403,
      code: 'SignatureDoesNotMatch',
      run: (url) => {
        const u = new URL(url);
        const sig = u.searchParams.get('X-Goog-Signature')!;
        u.searchParams.set('X-Goog-Signature', (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1));
        return browserPut(u.href, testBytes(10));
      },
    },
    {
      name: 'tampered object name',
      status: 403,
      code: 'SignatureDoesNotMatch',
      run: (url) => browserPut(url.replace('/photos/', '/other/'), testBytes(10)),
    },
    {
      name: 'wrong content type',
      status: 403,
      code: 'SignatureDoesNotMatch',
      run: (url) => browserPut(url, testBytes(10), { 'Content-Type': 'text/html' }),
    },
    {
      name: 'changed length range header',
      status: 403,
      code: 'SignatureDoesNotMatch',
      run: (url) => browserPut(url, testBytes(10), { 'x-goog-content-length-range': '0,100000000' }),
    },
    {
      name: 'body larger than the signed range (Content-Length known)',
      status: 400,
      code: 'EntityTooLarge',
      run: (url) => browserPut(url, testBytes(1001)),
    },
    {
      name: 'body larger than the signed range (streamed, no Content-Length)',
      status: 400,
      code: 'EntityTooLarge',
      run: (url) =>
        browserPut(
          url,
          new ReadableStream<Uint8Array>({
            start(controller) {
              for (let i = 0; i < 5; i++) controller.enqueue(testBytes(400, i + 1));
              controller.close();
            },
          }),
        ),
    },
    {
      name: 'a GET with a URL signed for PUT',
      status: 403,
      code: 'SignatureDoesNotMatch',
      run: (url) => fetch(url, { headers: { 'Content-Type': CONTENT_TYPE, 'x-goog-content-length-range': RANGE } }),
    },
  ];
  for (const c of rejections) {
    it(`rejects ${c.name} with ${c.status} ${c.code} and stores nothing`, async () => {
      const name = `photos/reject-${c.name.replace(/\W+/g, '-')}.png`;
      const res = await c.run(await signedPutUrl(name));
      const text = await res.text();
      assert.equal(res.status, c.status, text);
      assert.match(text, new RegExp(`<Code>${c.code}</Code>`));
      assert.deepEqual(await h.storage.bucket(BUCKET).file(name).exists(), [false]);
      assert.deepEqual(await h.storage.bucket(BUCKET).file(name.replace('/photos/', '/other/')).exists(), [false]);
    });
  }

  it('rejects an expired URL with 400 ExpiredToken', async () => {
    const url = await signedPutUrl('photos/late.png', 1500);
    await sleep(3000);
    const res = await browserPut(url, testBytes(10));
    assert.equal(res.status, 400);
    assert.match(await res.text(), /ExpiredToken/);
  });

  it('a signed create-only PUT (x-goog-if-generation-match: 0) succeeds once, then 412', async () => {
    const [url] = await h.storage
      .bucket(BUCKET)
      .file('photos/once.png')
      .getSignedUrl({
        version: 'v4',
        action: 'write',
        contentType: CONTENT_TYPE,
        extensionHeaders: { 'x-goog-content-length-range': RANGE, 'x-goog-if-generation-match': '0' },
        expires: Date.now() + 60_000,
      });
    const headers = { 'x-goog-if-generation-match': '0' };
    assert.equal((await browserPut(url, testBytes(10), headers)).status, 200);
    const again = await browserPut(url, testBytes(20), headers);
    assert.equal(again.status, 412);
    assert.match(await again.text(), /<Code>PreconditionFailed<\/Code>/);
    const [meta] = await h.storage.bucket(BUCKET).file('photos/once.png').getMetadata();
    assert.equal(meta.size, '10');
  });

  it('rejects an unsigned PUT with 403', async () => {
    const res = await browserPut(`${h.emu.url}/${BUCKET}/photos/anon.png`, testBytes(10));
    assert.equal(res.status, 403);
  });

  it('a signed GET downloads the object with hashes', async () => {
    const file = h.storage.bucket(BUCKET).file('photos/get me.png');
    const body = testBytes(5000, 4);
    await file.save(body, { contentType: CONTENT_TYPE });
    const [url] = await file.getSignedUrl({ version: 'v4', action: 'read', expires: Date.now() + 60_000 });
    const res = await fetch(url, { headers: { Origin: BROWSER_ORIGIN } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), CONTENT_TYPE);
    assert.equal(res.headers.get('access-control-allow-origin'), BROWSER_ORIGIN);
    assert.match(res.headers.get('x-goog-hash') ?? '', /^crc32c=.+,md5=.+$/);
    assert.ok(Buffer.from(await res.arrayBuffer()).equals(body));
    const ranged = await fetch(url, { headers: { Range: 'bytes=10-19' } });
    assert.equal(ranged.status, 206);
    assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(body.subarray(10, 20)));
  });

  it('CORS preflight from an allowed origin is answered with the allow headers', async () => {
    const res = await fetch(await signedPutUrl('photos/preflight.png'), {
      method: 'OPTIONS',
      headers: { Origin: BROWSER_ORIGIN, 'Access-Control-Request-Method': 'PUT', 'Access-Control-Request-Headers': 'content-type,x-goog-content-length-range' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), BROWSER_ORIGIN);
    assert.match(res.headers.get('access-control-allow-methods') ?? '', /PUT/);
    assert.equal(res.headers.get('access-control-allow-headers'), 'content-type,x-goog-content-length-range');
    assert.equal(res.headers.get('access-control-max-age'), '600');
  });

  const denied = [
    { name: 'an unknown origin', origin: 'http://evil.example', method: 'PUT' },
    { name: 'a method not in the rule', origin: BROWSER_ORIGIN, method: 'DELETE' },
  ];
  for (const d of denied) {
    it(`CORS preflight from ${d.name} gets no Access-Control-Allow-Origin`, async () => {
      const res = await fetch(`${h.emu.url}/${BUCKET}/photos/x.png`, {
        method: 'OPTIONS',
        headers: { Origin: d.origin, 'Access-Control-Request-Method': d.method },
      });
      assert.equal(res.status, 403);
      assert.equal(res.headers.get('access-control-allow-origin'), null);
    });
  }

  it('an actual response to a disallowed origin carries no Access-Control-Allow-Origin', async () => {
    const res = await browserPut(await signedPutUrl('photos/evil.png'), testBytes(10), { Origin: 'http://evil.example' });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), null);
  });

  it('a bucket without CORS rules answers no preflight', async () => {
    await h.emu.ensureBucket({ name: 'no-cors' });
    const res = await fetch(`${h.emu.url}/no-cors/x.png`, { method: 'OPTIONS', headers: { Origin: BROWSER_ORIGIN, 'Access-Control-Request-Method': 'PUT' } });
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('access-control-allow-origin'), null);
  });
});
