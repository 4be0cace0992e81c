// Malformed requests get the right 4xx with a GCS-shaped error body and never take the
// emulator down. These requests cannot come from the official client, so they are sent raw;
// after each one the official client must still be served.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { BUCKET, startHarness, type Harness } from './harness.js';

interface Case {
  name: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  status: number;
  reason?: string;
}

const UPLOAD = `/upload/storage/v1/b/${BUCKET}/o`;
const multipart = (boundary: string, meta: string, media: string, close = true): string =>
  `--${boundary}\r\nContent-Type: application/json\r\n\r\n${meta}\r\n--${boundary}\r\nContent-Type: text/plain\r\n\r\n${media}` +
  (close ? `\r\n--${boundary}--` : '');

const CASES: Case[] = [
  { name: 'bad JSON on bucket insert', method: 'POST', path: '/b?project=p', body: '{"name": "x"', status: 400, reason: 'parseError' },
  { name: 'bad JSON on object patch', method: 'PATCH', path: `/storage/v1/b/${BUCKET}/o/probe.txt`, body: '{nope', status: 400, reason: 'parseError' },
  { name: 'JSON array where an object is expected', method: 'PATCH', path: `/b/${BUCKET}/o/probe.txt`, body: '[1,2]', status: 400, reason: 'parseError' },
  { name: 'bad uploadType', method: 'POST', path: `${UPLOAD}?uploadType=bogus&name=x`, body: 'x', status: 400, reason: 'invalidParameter' },
  { name: 'missing uploadType', method: 'POST', path: `${UPLOAD}?name=x`, body: 'x', status: 400, reason: 'invalidParameter' },
  { name: 'media upload without a name', method: 'POST', path: `${UPLOAD}?uploadType=media`, body: 'x', status: 400, reason: 'required' },
  { name: 'upload to an unknown bucket', method: 'POST', path: '/upload/storage/v1/b/no-such-bucket/o?uploadType=media&name=x', body: 'x', status: 404, reason: 'notFound' },
  { name: 'list of an unknown bucket', method: 'GET', path: '/b/no-such-bucket/o', status: 404, reason: 'notFound' },
  { name: 'object get in an unknown bucket', method: 'GET', path: '/storage/v1/b/no-such-bucket/o/x', status: 404, reason: 'notFound' },
  { name: 'non-numeric ifGenerationMatch', method: 'POST', path: `${UPLOAD}?uploadType=media&name=x&ifGenerationMatch=abc`, body: 'x', status: 400, reason: 'invalid' },
  { name: 'negative ifMetagenerationMatch', method: 'GET', path: `/b/${BUCKET}/o/probe.txt?ifMetagenerationMatch=-1`, status: 400, reason: 'invalid' },
  {
    name: 'truncated multipart body (no closing delimiter)',
    method: 'POST',
    path: `${UPLOAD}?uploadType=multipart`,
    headers: { 'Content-Type': 'multipart/related; boundary=XYZ' },
    body: multipart('XYZ', '{"name":"trunc.txt"}', 'half a body', false),
    status: 400,
  },
  {
    name: 'multipart with bad JSON metadata',
    method: 'POST',
    path: `${UPLOAD}?uploadType=multipart`,
    headers: { 'Content-Type': 'multipart/related; boundary=XYZ' },
    body: multipart('XYZ', '{"name":', 'data'),
    status: 400,
    reason: 'parseError',
  },
  { name: 'multipart without a boundary', method: 'POST', path: `${UPLOAD}?uploadType=multipart`, headers: { 'Content-Type': 'multipart/related' }, body: 'x', status: 400 },
  { name: 'unknown resumable session', method: 'PUT', path: `${UPLOAD}?uploadType=resumable&upload_id=nope`, body: 'x', status: 404, reason: 'notFound' },
  { name: 'malformed percent-encoding in the path', method: 'GET', path: `/b/${BUCKET}/o/%E0%A4%A`, status: 400 },
  { name: 'invalid maxResults', method: 'GET', path: `/b/${BUCKET}/o?maxResults=-3`, status: 400 },
  { name: 'invalid pageToken', method: 'GET', path: `/b/${BUCKET}/o?pageToken=%%%`, status: 400 },
  { name: 'invalid bucket name', method: 'POST', path: '/b?project=p', body: '{"name":"Bad_Name!"}', status: 400 },
  { name: 'CORS config of the wrong type', method: 'PATCH', path: `/b/${BUCKET}`, body: '{"cors":"everyone"}', status: 400 },
  { name: 'notification config without topic', method: 'POST', path: `/b/${BUCKET}/notificationConfigs`, body: '{"payload_format":"JSON_API_V1"}', status: 400, reason: 'required' },
  { name: 'unsupported method on an object', method: 'POST', path: `/b/${BUCKET}/o/probe.txt`, status: 405 },
];

describe('storage emulator: malformed requests', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
    await h.storage.bucket(BUCKET).file('probe.txt').save('still here');
  });
  after(async () => {
    await h.close();
  });

  async function stillServing(): Promise<void> {
    const [bytes] = await h.storage.bucket(BUCKET).file('probe.txt').download();
    assert.equal(bytes.toString(), 'still here');
  }

  for (const c of CASES) {
    it(`${c.name} -> ${c.status}`, async () => {
      const res = await fetch(h.emu.url + c.path, { method: c.method, headers: c.headers, body: c.body });
      const text = await res.text();
      assert.equal(res.status, c.status, text);
      const body = JSON.parse(text) as { error: { code: number; message: string; errors: Array<{ reason: string }> } };
      assert.equal(body.error.code, c.status);
      assert.equal(typeof body.error.message, 'string');
      if (c.reason) assert.equal(body.error.errors[0]?.reason, c.reason);
      await stillServing();
    });
  }

  it('unparseable HTTP gets 400 and the server keeps serving', async () => {
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(h.emu.port, '127.0.0.1', () => socket.write('THIS IS NOT HTTP\r\n\r\n'));
      let data = '';
      socket.on('data', (d) => (data += d.toString()));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    assert.match(reply, /^HTTP\/1\.1 400/);
    await stillServing();
  });

  it('a client that disconnects mid-upload leaves no object and no temp file', async () => {
    await new Promise<void>((resolve, reject) => {
      const socket = connect(h.emu.port, '127.0.0.1', () => {
        socket.write(`POST ${UPLOAD}?uploadType=media&name=aborted.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100000\r\n\r\n`);
        socket.write(Buffer.alloc(5000, 1), () => {
          socket.destroy();
          resolve();
        });
      });
      socket.on('error', reject);
    });
    await sleep(200);
    assert.deepEqual(await h.storage.bucket(BUCKET).file('aborted.bin').exists(), [false]);
    assert.deepEqual(await readdir(join(h.emu.dataDir, '.tmp')), []);
    await stillServing();
  });

  it('resumable protocol on the wire: 308 with Range, status check, resend overlap, final 200', async () => {
    const start = await fetch(`${h.emu.url}${UPLOAD}?uploadType=resumable&name=wire.txt`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Upload-Content-Type': 'text/plain' },
      body: '{}',
    });
    assert.equal(start.status, 200);
    const location = start.headers.get('location')!;
    assert.ok(location.startsWith(h.emu.url));
    const put = (range: string, body?: string): Promise<Response> =>
      fetch(location, { method: 'PUT', headers: { 'Content-Range': range }, body: body ?? '' });

    const empty = await put('bytes */*');
    assert.equal(empty.status, 308);
    assert.equal(empty.headers.get('range'), null);
    const first = await put('bytes 0-4/*', 'hello');
    assert.equal(first.status, 308);
    assert.equal(first.headers.get('range'), 'bytes=0-4');
    const status = await put('bytes */*');
    assert.equal(status.status, 308);
    assert.equal(status.headers.get('range'), 'bytes=0-4');
    // The client did not see our 308 and resends from byte 3: the overlap is skipped.
    const last = await put('bytes 3-10/11', 'lo world');
    assert.equal(last.status, 200);
    const resource = (await last.json()) as { size: string; crc32c: string; contentType: string };
    assert.equal(resource.size, '11');
    assert.equal(resource.contentType, 'text/plain');
    const [bytes] = await h.storage.bucket(BUCKET).file('wire.txt').download();
    assert.equal(bytes.toString(), 'hello world');
    assert.equal((await put('bytes */*')).status, 200, 'a completed session reports the object');
    const bad = await put('bytes banana');
    assert.equal(bad.status, 200, 'a completed session ignores further input');
  });

  it('a resumable upload whose final X-Goog-Hash does not match is rejected with 400', async () => {
    const start = await fetch(`${h.emu.url}${UPLOAD}?uploadType=resumable&name=badhash.txt`, { method: 'POST', body: '{}' });
    const location = start.headers.get('location')!;
    const res = await fetch(location, { method: 'PUT', headers: { 'Content-Range': 'bytes 0-4/5', 'X-Goog-Hash': 'crc32c=AAAAAA==' }, body: 'hello' });
    assert.equal(res.status, 400);
    assert.deepEqual(await h.storage.bucket(BUCKET).file('badhash.txt').exists(), [false]);
  });
});
