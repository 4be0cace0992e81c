import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createUploadHandler, type CreateUploadSettings } from '../../functions/create-upload.js';
import { UploadLimits, UploadTicket } from '../../schemas/upload.js';
import { fakeRequest, fakeResponse, fakeWorld } from './fakes.js';

const JOB = 'f00dfeedf00dfeedf00dfeedf00dfeed';
const ORIGIN = 'https://shop.example';
const settings: CreateUploadSettings = {
  uploadsBucket: 'uploads-bkt',
  maxUploadBytes: 50 * 1024 * 1024,
  signedUrlTtlSeconds: 900,
  allowedOrigins: [ORIGIN],
  rateLimit: { perMinute: 60, burst: 3 },
  publicBaseUrl: 'https://api.example/',
};

function setup() {
  const world = fakeWorld();
  return { world, handle: createUploadHandler(world.deps, settings, () => JOB) };
}

const post = (body: unknown, headers: Record<string, string> = {}) =>
  fakeRequest({ method: 'POST', path: '/uploads', body, headers: { origin: ORIGIN, 'content-type': 'application/json', host: 'fn.example', ...headers } });

describe('createUpload', () => {
  it('answers a ticket with a signed PUT bound to type, size and metadata', async () => {
    const { world, handle } = setup();
    const res = fakeResponse();
    await handle(post({ contentType: 'image/png', contentLength: 1234, outputs: ['cutout'], clientRef: 'order 7/a' }), res);
    assert.equal(res.statusCode, 201);
    const ticket = UploadTicket.parse(res.json());
    assert.equal(ticket.jobId, JOB);
    assert.equal(ticket.statusUrl, `https://api.example/jobs/${JOB}`);
    assert.equal(ticket.upload.method, 'PUT');
    assert.deepEqual(ticket.upload.headers, {
      'Content-Type': 'image/png',
      'x-goog-content-length-range': '0,1234',
      'x-goog-meta-petcutout-outputs': 'cutout',
      'x-goog-meta-petcutout-client-ref': 'order%207%2Fa',
    });
    assert.equal(ticket.upload.expiresAt, new Date(world.clock.ms + 900_000).toISOString());
    const [signed] = world.objects.signed;
    assert.equal(signed?.name, `uploads/${JOB}/original`, 'the server chooses the object name');
    assert.equal(signed?.bucket, 'uploads-bkt');
    assert.equal(signed?.contentType, 'image/png');
    assert.equal(signed?.method, 'PUT');
    assert.equal(res.headers['access-control-allow-origin'], ORIGIN);
    assert.equal(res.headers['cache-control'], 'no-store');
  });

  it('defaults outputs to everything', async () => {
    const { handle } = setup();
    const res = fakeResponse();
    await handle(post({ contentType: 'image/jpeg', contentLength: 10 }), res);
    assert.equal(UploadTicket.parse(res.json()).upload.headers['x-goog-meta-petcutout-outputs'], 'cutout,mask,bw,preview');
  });

  const bad: Array<{ name: string; body: unknown; status: number; code: string; field: string; message?: RegExp }> = [
    { name: 'HEIC', body: { contentType: 'image/heic', contentLength: 10 }, status: 400, code: 'bad_request', field: 'contentType', message: /accepted are image\/jpeg, image\/png, image\/webp.*HEIC/ },
    { name: 'GIF', body: { contentType: 'image/gif', contentLength: 10 }, status: 400, code: 'bad_request', field: 'contentType' },
    { name: 'SVG', body: { contentType: 'image/svg+xml', contentLength: 10 }, status: 400, code: 'bad_request', field: 'contentType' },
    { name: 'missing contentLength', body: { contentType: 'image/png' }, status: 400, code: 'bad_request', field: 'contentLength' },
    { name: 'negative length', body: { contentType: 'image/png', contentLength: -1 }, status: 400, code: 'bad_request', field: 'contentLength' },
    { name: 'fractional length', body: { contentType: 'image/png', contentLength: 1.5 }, status: 400, code: 'bad_request', field: 'contentLength' },
    { name: 'length as a string', body: { contentType: 'image/png', contentLength: '10' }, status: 400, code: 'bad_request', field: 'contentLength' },
    { name: 'over the limit', body: { contentType: 'image/png', contentLength: 50 * 1024 * 1024 + 1 }, status: 400, code: 'too_large', field: 'contentLength' },
    { name: 'unknown output', body: { contentType: 'image/png', contentLength: 10, outputs: ['hologram'] }, status: 400, code: 'bad_request', field: 'outputs.0' },
    { name: 'repeated outputs', body: { contentType: 'image/png', contentLength: 10, outputs: ['mask', 'mask'] }, status: 400, code: 'bad_request', field: 'outputs' },
    { name: 'a client-chosen object name', body: { contentType: 'image/png', contentLength: 10, name: '../../etc' }, status: 400, code: 'bad_request', field: '(root)' },
    { name: 'a too-long clientRef', body: { contentType: 'image/png', contentLength: 10, clientRef: 'x'.repeat(129) }, status: 400, code: 'bad_request', field: 'clientRef' },
    { name: 'an empty body', body: undefined, status: 400, code: 'bad_request', field: '(root)' },
    { name: 'a JSON array', body: [], status: 400, code: 'bad_request', field: '(root)' },
    { name: 'malformed JSON text', body: '{"contentType": ', status: 400, code: 'bad_request', field: '(root)' },
    { name: 'a raw buffer of garbage', body: Buffer.from([0xff, 0x00]), status: 400, code: 'bad_request', field: '(root)' },
    { name: 'a wrong schemaVersion', body: { schemaVersion: 9, contentType: 'image/png', contentLength: 10 }, status: 400, code: 'bad_request', field: 'schemaVersion' },
  ];
  for (const c of bad) {
    it(`refuses ${c.name} with ${c.status} naming ${c.field}`, async () => {
      const { world, handle } = setup();
      const res = fakeResponse();
      await handle(post(c.body), res);
      assert.equal(res.statusCode, c.status);
      const error = res.json()['error'] as { code: string; message: string; fields: string[] };
      assert.equal(error.code, c.code);
      assert.ok(error.fields.includes(c.field), `fields ${JSON.stringify(error.fields)} should name ${c.field}`);
      if (c.message) assert.match(error.message, c.message);
      assert.equal(world.objects.signed.length, 0);
    });
  }

  it('accepts the JSON as text (a CORS-simple request)', async () => {
    const { handle } = setup();
    const res = fakeResponse();
    await handle(post(JSON.stringify({ contentType: 'image/webp', contentLength: 5 })), res);
    assert.equal(res.statusCode, 201);
  });

  for (const method of ['PUT', 'DELETE', 'PATCH']) {
    it(`answers ${method} with 405 and Allow`, async () => {
      const { handle } = setup();
      const res = fakeResponse();
      await handle(fakeRequest({ method, path: '/uploads' }), res);
      assert.equal(res.statusCode, 405);
      assert.equal(res.headers['allow'], 'GET, POST, OPTIONS');
    });
  }

  it('answers GET with the limits a POST is held to, readable cross-origin, minting nothing', async () => {
    const { world, handle } = setup();
    const res = fakeResponse();
    await handle(fakeRequest({ method: 'GET', path: '/uploads', headers: { origin: ORIGIN } }), res);
    assert.equal(res.statusCode, 200);
    assert.deepEqual(UploadLimits.parse(res.json()), { schemaVersion: 1, maxUploadBytes: settings.maxUploadBytes, contentTypes: ['image/jpeg', 'image/png', 'image/webp'], outputs: ['cutout', 'mask', 'bw', 'preview'] });
    assert.equal(res.headers['access-control-allow-origin'], ORIGIN);
    assert.equal(world.objects.signed.length, 0);
  });

  it('answers an allowed preflight', async () => {
    const { handle } = setup();
    const res = fakeResponse();
    await handle(fakeRequest({ method: 'OPTIONS', path: '/uploads', headers: { origin: ORIGIN, 'access-control-request-method': 'POST' } }), res);
    assert.equal(res.statusCode, 204);
    assert.equal(res.headers['access-control-allow-origin'], ORIGIN);
    assert.match(res.headers['access-control-allow-methods'] ?? '', /POST/);
    assert.match(res.headers['access-control-allow-headers'] ?? '', /Content-Type/);
    assert.equal(res.headers['vary'], 'Origin');
  });

  it('refuses a preflight from another origin and sends no CORS grant', async () => {
    const { handle } = setup();
    const res = fakeResponse();
    await handle(fakeRequest({ method: 'OPTIONS', path: '/uploads', headers: { origin: 'https://evil.example' } }), res);
    assert.equal(res.statusCode, 403);
    assert.equal(res.headers['access-control-allow-origin'], undefined);
    const post2 = fakeResponse();
    await handle(post({ contentType: 'image/png', contentLength: 1 }, { origin: 'https://evil.example' }), post2);
    assert.equal(post2.headers['access-control-allow-origin'], undefined);
    assert.equal(post2.statusCode, 403);
  });

  // Issue 17 item 2: a "simple" cross-origin POST needs no preflight, so the server must refuse it.
  for (const [name, headers] of [
    ['a JSON POST', { origin: 'https://evil.example' }],
    ['a text/plain POST (no preflight)', { origin: 'https://evil.example', 'content-type': 'text/plain;charset=UTF-8' }],
  ] as const) {
    it(`refuses ${name} from an origin outside the allowlist with 403 before any work`, async () => {
      const { world, handle } = setup();
      const res = fakeResponse();
      await handle(post(JSON.stringify({ contentType: 'image/png', contentLength: 1 }), headers), res);
      assert.equal(res.statusCode, 403);
      assert.deepEqual(res.json(), { error: { code: 'origin_not_allowed', message: 'origin "https://evil.example" is not allowed to use this API' } });
      assert.equal(world.objects.signed.length, 0, 'no ticket minted');
    });
  }

  for (const type of ['text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', undefined]) {
    it(`answers 415 to a body sent as ${type ?? 'no content type'}, even from an allowed origin`, async () => {
      const { world, handle } = setup();
      const req = post(JSON.stringify({ contentType: 'image/png', contentLength: 1 }));
      if (type === undefined) delete req.headers['content-type'];
      else req.headers['content-type'] = type;
      const res = fakeResponse();
      await handle(req, res);
      assert.equal(res.statusCode, 415);
      assert.equal((res.json()['error'] as { code: string }).code, 'unsupported_media_type');
      assert.equal(res.headers['access-control-allow-origin'], ORIGIN, 'the page can read why');
      assert.equal(world.objects.signed.length, 0);
    });
  }

  it('takes application/json with a charset, and a request without Origin (a server, curl)', async () => {
    const { handle } = setup();
    const res = fakeResponse();
    await handle(post({ contentType: 'image/png', contentLength: 1 }, { 'content-type': 'Application/JSON; charset=utf-8' }), res);
    assert.equal(res.statusCode, 201);
    const req = post({ contentType: 'image/png', contentLength: 1 });
    delete req.headers['origin'];
    const res2 = fakeResponse();
    await handle(req, res2);
    assert.equal(res2.statusCode, 201);
    assert.equal(res2.headers['access-control-allow-origin'], undefined);
  });

  describe('statusUrl without PUBLIC_BASE_URL: absolute, from the origin the request came in on', () => {
    const handleWith = () => createUploadHandler(fakeWorld().deps, { ...settings, publicBaseUrl: undefined }, () => JOB);
    const cases: Array<[string, Record<string, string>, number, string | undefined]> = [
      ['local: Host only', { host: '127.0.0.1:8081' }, 201, `http://127.0.0.1:8081/jobs/${JOB}`],
      ['behind Google front end: X-Forwarded-Proto https', { host: 'createupload-abc-ew.a.run.app', 'x-forwarded-proto': 'https' }, 201, `https://createupload-abc-ew.a.run.app/jobs/${JOB}`],
      ['IPv6 host', { host: '[::1]:9000' }, 201, `http://[::1]:9000/jobs/${JOB}`],
      ['a Host that is not a host name', { host: 'evil.example/x?' }, 400, undefined],
      ['an unknown X-Forwarded-Proto is ignored', { host: 'fn.example', 'x-forwarded-proto': 'javascript' }, 201, `http://fn.example/jobs/${JOB}`],
    ];
    for (const [name, headers, status, url] of cases) {
      it(name, async () => {
        const res = fakeResponse();
        await handleWith()(post({ contentType: 'image/png', contentLength: 1 }, headers), res);
        assert.equal(res.statusCode, status);
        if (url !== undefined) assert.equal(UploadTicket.parse(res.json()).statusUrl, url);
      });
    }
  });

  it('limits each client with a token bucket: 429 with Retry-After, then refills', async () => {
    const { world, handle } = setup();
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = fakeResponse();
      await handle(post({ contentType: 'image/png', contentLength: 1 }, { 'x-forwarded-for': '203.0.113.9' }), res);
      statuses.push(res.statusCode);
      if (res.statusCode === 429) assert.equal(res.headers['retry-after'], '1');
    }
    assert.deepEqual(statuses, [201, 201, 201, 429]);
    const other = fakeResponse();
    await handle(post({ contentType: 'image/png', contentLength: 1 }, { 'x-forwarded-for': '198.51.100.1' }), other);
    assert.equal(other.statusCode, 201, 'another client has its own bucket');
    world.clock.advance(1_000);
    const again = fakeResponse();
    await handle(post({ contentType: 'image/png', contentLength: 1 }, { 'x-forwarded-for': '203.0.113.9' }), again);
    assert.equal(again.statusCode, 201);
  });

  // Issue 17 item 4: the front end appends the address it saw; the left part is the client's.
  it('keys the limit on the address the front end appended: a fresh spoofed X-Forwarded-For does not bypass it', async () => {
    const { world, handle } = setup();
    const statuses: number[] = [];
    for (let i = 0; i < 50; i++) {
      const res = fakeResponse();
      await handle(post({ contentType: 'image/png', contentLength: 1 }, { 'x-forwarded-for': `10.${i}.0.1, 192.0.2.${i}, 203.0.113.9` }), res);
      statuses.push(res.statusCode);
    }
    assert.deepEqual(statuses.slice(0, 4), [201, 201, 201, 429]);
    assert.equal(statuses.filter((s) => s === 201).length, 3, '3 tickets (the burst), not 50');
    assert.equal(world.objects.signed.length, 3);
  });

  it('keeps different real clients apart, whatever they put on the left', async () => {
    const { handle } = setup();
    for (let i = 0; i < 20; i++) {
      const res = fakeResponse();
      await handle(post({ contentType: 'image/png', contentLength: 1 }, { 'x-forwarded-for': `203.0.113.9, 198.51.100.${i}` }), res);
      assert.equal(res.statusCode, 201, `client 198.51.100.${i} has its own bucket although all claim 203.0.113.9`);
    }
  });

  it('answers 503, not 500, when signing fails', async () => {
    const { world, handle } = setup();
    world.objects.failSigning = new Error('iam.serviceAccounts.signBlob denied');
    const res = fakeResponse();
    await handle(post({ contentType: 'image/png', contentLength: 1 }), res);
    assert.equal(res.statusCode, 503);
    assert.ok(res.headers['retry-after']);
  });
});
