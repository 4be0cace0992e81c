// Pure pieces of the emulator, table-driven: CRC32C, Range/Content-Range parsing, the
// streaming multipart reader (split at every byte), preconditions, CORS matching.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { crc32cBase64, crc32cUpdate } from './crc32c.js';
import { preflightHeaders, responseCorsHeaders } from './cors.js';
import type { GcsError } from './errors.js';
import { parseRange } from './http-util.js';
import { pageOfNames } from './listing.js';
import { readMultipart } from './multipart.js';
import { encodeObjectFileName, decodeObjectFileName, nextGeneration } from './names.js';
import { checkPreconditions, parsePreconditions } from './preconditions.js';
import { parseContentRange } from './resumable.js';
import { parseLengthRange, rfc3986 } from './signed-url.js';
import type { ObjectMeta } from './types.js';

describe('crc32c', () => {
  // RFC 3720 (iSCSI) appendix B.4 test vectors plus the classic check value.
  const vectors = [
    { name: '32 zero bytes', input: Buffer.alloc(32, 0), crc: 0x8a9136aa },
    { name: '32 0xff bytes', input: Buffer.alloc(32, 0xff), crc: 0x62a8ab43 },
    { name: 'ascending 0..31', input: Buffer.from(Array.from({ length: 32 }, (_, i) => i)), crc: 0x46dd794e },
    { name: 'descending 31..0', input: Buffer.from(Array.from({ length: 32 }, (_, i) => 31 - i)), crc: 0x113fdb5c },
    { name: '"123456789"', input: Buffer.from('123456789'), crc: 0xe3069283 },
    { name: 'empty', input: Buffer.alloc(0), crc: 0 },
  ];
  for (const v of vectors) it(v.name, () => assert.equal(crc32cUpdate(0, v.input), v.crc));

  it('is incremental at any split point, and encodes big-endian base64', () => {
    const data = Buffer.from('The quick brown fox jumps over the lazy dog, twice over.');
    const whole = crc32cUpdate(0, data);
    for (let i = 0; i <= data.length; i++) assert.equal(crc32cUpdate(crc32cUpdate(0, data.subarray(0, i)), data.subarray(i)), whole);
    assert.equal(crc32cBase64(Buffer.from('123456789')), Buffer.from([0xe3, 0x06, 0x92, 0x83]).toString('base64'));
  });
});

describe('parseRange', () => {
  const cases: Array<{ header: string | undefined; size: number; expected: { start: number; end: number } | undefined | 416 }> = [
    { header: undefined, size: 10, expected: undefined },
    { header: 'bytes=0-4', size: 10, expected: { start: 0, end: 4 } },
    { header: 'bytes=5-', size: 10, expected: { start: 5, end: 9 } },
    { header: 'bytes=-3', size: 10, expected: { start: 7, end: 9 } },
    { header: 'bytes=2-100', size: 10, expected: { start: 2, end: 9 } },
    { header: 'bytes=10-', size: 10, expected: 416 },
    { header: 'bytes=5-2', size: 10, expected: 416 },
    { header: 'bytes=0-1,3-4', size: 10, expected: undefined },
    { header: 'items=0-1', size: 10, expected: undefined },
  ];
  for (const c of cases) {
    it(`${c.header} of ${c.size}`, () => {
      if (c.expected === 416) assert.throws(() => parseRange(c.header, c.size), (e: GcsError) => e.status === 416);
      else assert.deepEqual(parseRange(c.header, c.size), c.expected);
    });
  }
});

describe('parseContentRange', () => {
  const cases = [
    { header: 'bytes 0-9/100', expected: { start: 0, end: 9, total: 100 } },
    { header: 'bytes 0-9/*', expected: { start: 0, end: 9, total: undefined } },
    { header: 'bytes 0-*/*', expected: { start: 0, end: undefined, total: undefined } },
    { header: 'bytes */*', expected: { start: undefined, end: undefined, total: undefined } },
    { header: 'bytes */42', expected: { start: undefined, end: undefined, total: 42 } },
  ];
  for (const c of cases) it(c.header, () => assert.deepEqual(parseContentRange(c.header), c.expected));
  for (const bad of ['bytes', 'bytes 1-/2', 'items 0-1/2', 'bytes a-b/c']) {
    it(`rejects '${bad}' with 400`, () => assert.throws(() => parseContentRange(bad), (e: GcsError) => e.status === 400));
  }
});

describe('readMultipart', () => {
  const media = Buffer.concat([Buffer.from('line one\r\n--not-the-boundary\r\n'), Buffer.alloc(300, 7), Buffer.from('\r\n--BOUNDAR')]);
  const body = Buffer.concat([
    Buffer.from('--BOUNDARY\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{"name":"a/b.txt","metadata":{"k":"v"}}\r\n'),
    Buffer.from('--BOUNDARY\r\nContent-Type: image/png\r\n\r\n'),
    media,
    Buffer.from('\r\n--BOUNDARY--\r\n'),
  ]);

  async function parse(chunks: Buffer[]): Promise<{ metadata: Record<string, unknown>; type?: string; media: Buffer }> {
    const out: Buffer[] = [];
    const r = await readMultipart(
      (async function* () {
        yield* chunks;
      })(),
      'BOUNDARY',
      async (c) => {
        out.push(c);
      },
    );
    return { metadata: r.metadata, type: r.mediaContentType, media: Buffer.concat(out) };
  }

  it('parses the body whole and split at every byte position', async () => {
    for (let i = 0; i <= body.length; i++) {
      const r = await parse([body.subarray(0, i), body.subarray(i)]);
      assert.deepEqual(r.metadata, { name: 'a/b.txt', metadata: { k: 'v' } }, `split at ${i}`);
      assert.equal(r.type, 'image/png');
      assert.ok(r.media.equals(media), `media intact when split at ${i}`);
    }
  });

  it('parses one byte at a time', async () => {
    const r = await parse([...body].map((b) => Buffer.from([b])));
    assert.ok(r.media.equals(media));
  });

  it('rejects a body cut anywhere before the closing delimiter', async () => {
    const end = body.indexOf('\r\n--BOUNDARY--');
    for (const cut of [0, 5, 40, 80, end - 1, end + 5]) {
      await assert.rejects(parse([body.subarray(0, cut)]), (e: GcsError) => e.status === 400, `cut at ${cut}`);
    }
  });
});

describe('preconditions', () => {
  const live = { generation: '1700000000000001', metageneration: '3' } as ObjectMeta;
  const cases = [
    { query: 'ifGenerationMatch=0', live: undefined, ok: true },
    { query: 'ifGenerationMatch=0', live, ok: false },
    { query: 'ifGenerationMatch=1700000000000001', live, ok: true },
    { query: 'ifGenerationMatch=5', live: undefined, ok: false },
    { query: 'ifGenerationNotMatch=1700000000000001', live, ok: false },
    { query: 'ifGenerationNotMatch=0', live: undefined, ok: false },
    { query: 'ifGenerationNotMatch=0', live, ok: true },
    { query: 'ifMetagenerationMatch=3', live, ok: true },
    { query: 'ifMetagenerationMatch=2', live, ok: false },
    { query: 'ifMetagenerationMatch=1', live: undefined, ok: false },
    { query: 'ifMetagenerationNotMatch=3', live, ok: false },
  ];
  for (const c of cases) {
    it(`${c.query} on ${c.live ? 'existing' : 'missing'} object -> ${c.ok ? 'ok' : '412'}`, () => {
      const pre = parsePreconditions(new URLSearchParams(c.query));
      if (c.ok) checkPreconditions(c.live, pre);
      else assert.throws(() => checkPreconditions(c.live, pre), (e: GcsError) => e.status === 412);
    });
  }
  for (const bad of ['ifGenerationMatch=abc', 'ifGenerationMatch=-1', 'ifMetagenerationMatch=1.5', 'ifGenerationNotMatch=']) {
    it(`${bad} is a 400`, () => assert.throws(() => parsePreconditions(new URLSearchParams(bad)), (e: GcsError) => e.status === 400));
  }
});

describe('names and generations', () => {
  for (const name of ['a/b/c.txt', '.hidden', 'ü ñ %2F', 'x'.repeat(300)]) {
    it(`file name for ${name.slice(0, 20)} is safe and reversible (or hashed)`, () => {
      const file = encodeObjectFileName(name);
      assert.ok(!file.includes('/') && !file.startsWith('.') && Buffer.byteLength(file) <= 255);
      const back = decodeObjectFileName(file);
      assert.ok(back === name || back === undefined);
    });
  }
  it('generations strictly increase even within one millisecond', () => {
    const a = Number(nextGeneration(1000));
    const b = Number(nextGeneration(1000));
    assert.ok(b > a);
  });
});

describe('signed URL helpers and CORS', () => {
  it('rfc3986 encodes like the client signer', () => {
    assert.equal(rfc3986("a b/c!*'()~.-_", false), "a%20b/c%21%2A%27%28%29~.-_");
    assert.equal(rfc3986('a/b', true), 'a%2Fb');
  });
  it('parses x-goog-content-length-range', () => {
    assert.deepEqual(parseLengthRange('0,1000'), { min: 0, max: 1000 });
    assert.throws(() => parseLengthRange('1000'), (e: GcsError) => e.status === 400);
  });
  const rules = [{ origin: ['http://a.test'], method: ['PUT'], responseHeader: ['Content-Type'], maxAgeSeconds: 60 }];
  it('answers a matching preflight and ignores others', () => {
    assert.equal(preflightHeaders(rules, 'http://a.test', 'PUT', 'content-type')?.['Access-Control-Allow-Origin'], 'http://a.test');
    assert.equal(preflightHeaders(rules, 'http://b.test', 'PUT', undefined), undefined);
    assert.equal(preflightHeaders(rules, 'http://a.test', 'GET', undefined), undefined);
    assert.deepEqual(responseCorsHeaders(rules, 'http://b.test', 'PUT'), { Vary: 'Origin' });
    assert.equal(responseCorsHeaders(rules, 'http://a.test', 'PUT')['Access-Control-Expose-Headers'], 'Content-Type');
  });
});

describe('pageOfNames', () => {
  const names = ['a/1', 'a/2', 'b', 'c/x/1', 'c/y', 'd'];
  const cases = [
    { name: 'all', opts: { maxResults: 10 }, expected: { names, prefixes: [] } },
    { name: 'delimiter', opts: { delimiter: '/', maxResults: 10 }, expected: { names: ['b', 'd'], prefixes: ['a/', 'c/'] } },
    { name: 'prefix + delimiter', opts: { prefix: 'c/', delimiter: '/', maxResults: 10 }, expected: { names: ['c/y'], prefixes: ['c/x/'] } },
    { name: 'first page', opts: { delimiter: '/', maxResults: 2 }, expected: { names: ['b'], prefixes: ['a/'], nextPageToken: 'b' } },
    { name: 'second page', opts: { delimiter: '/', maxResults: 2, pageToken: 'b' }, expected: { names: ['d'], prefixes: ['c/'] } },
    { name: 'exact fit has no token', opts: { maxResults: 6 }, expected: { names, prefixes: [] } },
    { name: 'offsets', opts: { startOffset: 'a/2', endOffset: 'c/y', maxResults: 10 }, expected: { names: ['a/2', 'b', 'c/x/1'], prefixes: [] } },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(pageOfNames(names, c.opts), c.expected));
});
