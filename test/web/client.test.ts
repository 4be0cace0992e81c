/**
 * The browser client's logic in Node, with a scripted fetch and XMLHttpRequest: limits checked
 * before a ticket, the PUT with the ticket's exact headers and its progress, polling with
 * If-None-Match, back-off and Retry-After, terminal states as errors, cancellation, and CORS
 * told apart from the network. The real browser path is in shop.browser.test.ts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CutoutError, contentTypeOf, createCutoutClient, parseRetryAfter, type ClientConfig, type JobStatus, type ResponseLike, type XhrLike } from '../../web/client/cutout.js';

const API = 'https://api.example/';
const STORAGE = 'https://storage.example/uploads/uploads/abc/original?X-Goog-Signature=s';
const JOB = '0123456789abcdef0123456789abcdef';
const LIMITS = { schemaVersion: 1, maxUploadBytes: 1000, contentTypes: ['image/jpeg', 'image/png', 'image/webp'], outputs: ['cutout', 'mask', 'bw', 'preview'] };
const TICKET = {
  schemaVersion: 1,
  jobId: JOB,
  upload: { method: 'PUT', url: STORAGE, headers: { 'Content-Type': 'image/png', 'x-goog-content-length-range': '0,500', 'x-goog-meta-petcutout-outputs': 'cutout' }, expiresAt: '2030-01-01T00:00:00.000Z' },
  statusUrl: `${API}jobs/${JOB}`,
};
const file = (size = 500, type = 'image/png', name = 'rex.png') => ({ size, type, name });

function status(state: JobStatus['state'], extra: Partial<JobStatus> = {}): JobStatus {
  const at = '2030-01-01T00:00:00.000Z';
  return {
    schemaVersion: 1,
    jobId: JOB,
    state,
    trigger: 'upload',
    source: { bucket: 'uploads', name: `uploads/${JOB}/original` },
    outputsRequested: ['cutout', 'preview'],
    createdAt: at,
    updatedAt: at,
    transitions: [{ state, at }],
    attempts: 0,
    ...extra,
  };
}

function response(statusCode: number, body: unknown = undefined, headers: Record<string, string> = {}): ResponseLike {
  const h = new Map(Object.entries({ ...(body !== undefined && typeof body !== 'string' && { 'content-type': 'application/json' }), ...headers }).map(([k, v]) => [k.toLowerCase(), v]));
  const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body);
  return { status: statusCode, ok: statusCode >= 200 && statusCode < 300, headers: { get: (n) => h.get(n.toLowerCase()) ?? null }, json: async () => JSON.parse(text), text: async () => text, blob: async () => ({ bytes: text }) };
}

interface Call {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: unknown;
  mode: unknown;
}

type Route = (call: Call) => ResponseLike | Promise<ResponseLike>;

/** A scripted world: fetch answers by route, XHR PUTs succeed with progress, sleep is instant. */
function world(routes: { limits?: Route; ticket?: Route; status?: Route[]; probe?: Route; put?: (xhr: FakeXhr) => void } = {}) {
  const calls: Call[] = [];
  const sleeps: number[] = [];
  const xhrs: FakeXhr[] = [];
  let clock = 0;
  const statusQueue = [...(routes.status ?? [])];
  const fetch: ClientConfig['fetch'] = async (url, init = {}) => {
    const call: Call = { url, method: String(init['method'] ?? 'GET'), headers: (init['headers'] as Record<string, string>) ?? {}, body: init['body'], mode: init['mode'] };
    calls.push(call);
    if (call.mode === 'no-cors') return (routes.probe ?? (() => response(0)))(call);
    if (url === `${API}uploads` && call.method === 'GET') return (routes.limits ?? (() => response(200, LIMITS)))(call);
    if (url === `${API}uploads` && call.method === 'POST') return (routes.ticket ?? (() => response(201, TICKET)))(call);
    if (url.includes('/jobs/')) {
      const next = statusQueue.shift();
      if (!next) throw new Error('no more status answers scripted');
      return next(call);
    }
    throw new Error(`unexpected fetch ${url}`);
  };
  class Xhr extends FakeXhr {
    constructor() {
      super(routes.put ?? ((x) => x.succeed()));
      xhrs.push(this);
    }
  }
  const client = createCutoutClient({
    createUploadUrl: API,
    getStatusUrl: API,
    fetch,
    XMLHttpRequest: Xhr,
    now: () => clock,
    sleep: async (ms, signal) => {
      if (signal?.aborted) throw new CutoutError('aborted', 'cancelled');
      sleeps.push(ms);
      clock += ms;
    },
    poll: { initialMs: 100, factor: 2, maxMs: 1000 },
  });
  return { client, calls, sleeps, xhrs, advance: (ms: number) => (clock += ms) };
}

class FakeXhr implements XhrLike {
  status = 0;
  responseText = '';
  upload: XhrLike['upload'] = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  ontimeout: (() => void) | null = null;
  method = '';
  url = '';
  headers: Record<string, string> = {};
  body: unknown;
  aborted = false;
  constructor(private readonly behaviour: (xhr: FakeXhr) => void) {}
  open(method: string, url: string): void {
    this.method = method;
    this.url = url;
  }
  setRequestHeader(name: string, value: string): void {
    this.headers[name] = value;
  }
  getResponseHeader(): string | null {
    return null;
  }
  send(body: unknown): void {
    this.body = body;
    queueMicrotask(() => this.behaviour(this));
  }
  abort(): void {
    this.aborted = true;
    this.onabort?.();
  }
  succeed(): void {
    const size = (this.body as { size: number }).size;
    for (const loaded of [size / 4, size / 2, size]) this.upload.onprogress?.({ loaded, total: size, lengthComputable: true });
    this.status = 200;
    this.onload?.();
  }
}

async function rejection(p: Promise<unknown>): Promise<CutoutError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof CutoutError, `not a CutoutError: ${String(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

describe('browser client: upload', () => {
  it('reads the limits, asks for a ticket, PUTs with exactly its headers and reports progress to 100%', async () => {
    const w = world();
    const fractions: number[] = [];
    const job = await w.client.upload(file(), { outputs: ['cutout'], clientRef: 'order 7', onProgress: (p) => fractions.push(p.fraction) });
    assert.deepEqual(
      w.calls.map((c) => `${c.method} ${c.url}`),
      [`GET ${API}uploads`, `POST ${API}uploads`],
    );
    assert.deepEqual(JSON.parse(String(w.calls[1]!.body)), { contentType: 'image/png', contentLength: 500, outputs: ['cutout'], clientRef: 'order 7' });
    assert.equal(w.calls[1]!.headers['Content-Type'], 'application/json');
    const [xhr] = w.xhrs;
    assert.equal(xhr?.method, 'PUT');
    assert.equal(xhr.url, STORAGE);
    assert.deepEqual(xhr.headers, TICKET.upload.headers);
    assert.deepEqual(fractions, [0, 0.25, 0.5, 1, 1]);
    assert.equal(job.jobId, JOB);
    assert.equal(job.statusUrl, `${API}jobs/${JOB}`);
  });

  it('asks for the limits once for many uploads', async () => {
    const w = world();
    await w.client.upload(file());
    await w.client.upload(file());
    assert.equal(w.calls.filter((c) => c.method === 'GET').length, 1);
  });

  it('resolves a relative statusUrl against getStatus, not against the page', async () => {
    const w = world({ ticket: () => response(201, { ...TICKET, statusUrl: `/jobs/${JOB}` }) });
    const job = await w.client.upload(file());
    assert.equal(job.statusUrl, `${API}jobs/${JOB}`);
  });

  it('refuses an oversized file before asking for a ticket, in megabytes', async () => {
    const w = world({ limits: () => response(200, { ...LIMITS, maxUploadBytes: 3 * 1024 * 1024 }) });
    const err = await rejection(w.client.upload(file(5 * 1024 * 1024)));
    assert.equal(err.code, 'too_large');
    assert.match(err.message, /This photo is 5 MB; photos up to 3 MB are accepted/);
    assert.equal(w.calls.filter((c) => c.method === 'POST').length, 0);
    assert.equal(w.xhrs.length, 0);
  });

  it('refuses a type the server does not take, naming the ones it does', async () => {
    const w = world();
    const err = await rejection(w.client.upload(file(100, 'image/heic', 'IMG_1.HEIC')));
    assert.equal(err.code, 'unsupported_type');
    assert.match(err.message, /not a JPEG, PNG or WebP photo/);
    assert.equal(w.calls.filter((c) => c.method === 'POST').length, 0);
  });

  it('takes the type from the extension when the browser gives none', () => {
    assert.equal(contentTypeOf({ size: 1, type: '', name: 'a.WEBP' }), 'image/webp');
    assert.equal(contentTypeOf({ size: 1, type: '', name: 'noext' }), '');
  });

  it('waits out a short Retry-After on the ticket, and gives up on a long one as rate_limited', async () => {
    let n = 0;
    const w = world({ ticket: () => (++n === 1 ? response(429, { error: { code: 'rate_limited', message: 'slow down' } }, { 'Retry-After': '2' }) : response(201, TICKET)) });
    await w.client.upload(file());
    assert.deepEqual(w.sleeps, [2000]);
    const slow = world({ ticket: () => response(429, { error: { code: 'rate_limited', message: 'slow down' } }, { 'Retry-After': '60' }) });
    const err = await rejection(slow.client.upload(file()));
    assert.equal(err.code, 'rate_limited');
    assert.equal(err.retryAfterMs, 60_000);
    assert.equal(err.status, 429);
    assert.equal(err.detail, 'slow down');
  });

  it('names a refused preflight `cors` when the server answers a no-cors probe, and `network` when nothing answers', async () => {
    const blocked = world({ limits: () => Promise.reject(new TypeError('Failed to fetch')), probe: () => response(0) });
    const cors = await rejection(blocked.client.upload(file()));
    assert.equal(cors.code, 'cors');
    assert.match(cors.message, /not available on this site/);
    assert.equal(blocked.calls.at(-1)?.mode, 'no-cors');
    const down = world({ limits: () => Promise.reject(new TypeError('Failed to fetch')), probe: () => Promise.reject(new TypeError('Failed to fetch')) });
    assert.equal((await rejection(down.client.upload(file()))).code, 'network');
  });

  it('names an XHR upload that gets no readable answer by the same probe', async () => {
    const w = world({ put: (x) => x.onerror?.(), probe: () => response(0) });
    assert.equal((await rejection(w.client.upload(file()))).code, 'cors');
  });

  it("maps Storage's refusals: too large, expired", async () => {
    const big = world({
      put: (x) => {
        x.status = 400;
        x.responseText = '<Error><Code>EntityTooLarge</Code></Error>';
        x.onload?.();
      },
    });
    assert.equal((await rejection(big.client.upload(file()))).code, 'too_large');
    const old = world({
      put: (x) => {
        x.status = 400;
        x.responseText = '<Error><Code>ExpiredToken</Code><Message>The provided token has expired.</Message></Error>';
        x.onload?.();
      },
    });
    assert.equal((await rejection(old.client.upload(file()))).code, 'upload_expired');
  });

  it('gives up an upload that stalls, instead of hanging', async () => {
    const calls: string[] = [];
    const client = createCutoutClient({
      createUploadUrl: API,
      getStatusUrl: API,
      timeouts: { uploadStallMs: 30 },
      fetch: async (url, init = {}) => (calls.push(url), init['method'] === 'POST' ? response(201, TICKET) : response(200, LIMITS)),
      XMLHttpRequest: class extends FakeXhr {
        constructor() {
          super(() => undefined);
        }
      },
    });
    const err = await rejection(client.upload(file()));
    assert.equal(err.code, 'timeout');
  });

  it('cancels the PUT in flight on abort', async () => {
    const controller = new AbortController();
    let xhr: FakeXhr | undefined;
    const w = world({
      put: (x) => {
        xhr = x;
        controller.abort();
      },
    });
    const err = await rejection(w.client.upload(file(), { signal: controller.signal }));
    assert.equal(err.code, 'aborted');
    assert.ok(xhr?.aborted);
  });
});

describe('browser client: following a job', () => {
  async function uploaded(routes: Parameters<typeof world>[0]) {
    const w = world(routes);
    const job = await w.client.upload(file());
    w.calls.length = 0;
    return { ...w, job };
  }

  it('polls with If-None-Match, backs off while nothing changes, hands over the preview before the end and the quality at the end', async () => {
    const preview = { url: 'https://storage.example/preview.webp?sig', expiresAt: '2030-01-01T00:00:00.000Z' };
    const done = status('succeeded', {
      outputs: [],
      downloads: { cutout: { url: 'https://storage.example/cutout.png?sig', expiresAt: '2030-01-01T00:00:00.000Z' }, preview },
    });
    const { job, calls, sleeps } = await uploaded({
      status: [
        () => response(404, { error: { code: 'not_found', message: 'no job' } }),
        () => response(200, status('queued'), { ETag: '"1.0"' }),
        () => response(304, undefined, { ETag: '"1.0"' }),
        () => response(304, undefined, { ETag: '"1.0"' }),
        () => response(200, status('processing', { downloads: { preview } }), { ETag: '"2.0"' }),
        () => response(503, { error: { code: 'unavailable', message: 'busy' } }, { 'Retry-After': '3' }),
        () => response(200, { ...done, quality: { score: 0.4, flags: ['small_subject'] } }, { ETag: '"3.0"' }),
      ],
    });
    const events: string[] = [];
    const result = await job.result({ onStatus: (s) => events.push(`status:${s.state}`), onPreview: (p) => events.push(`preview:${p.status.state}`) });
    assert.deepEqual(events, ['status:queued', 'status:processing', 'preview:processing', 'status:succeeded']);
    assert.deepEqual(
      calls.map((c) => c.headers['If-None-Match'] ?? '-'),
      ['-', '-', '"1.0"', '"1.0"', '"1.0"', '"2.0"', '"2.0"'],
    );
    // 404 grows, a change resets, 304s grow, Retry-After wins over a shorter interval.
    assert.deepEqual(sleeps, [100, 100, 200, 400, 100, 3000]);
    assert.equal(result.downloads.cutout, 'https://storage.example/cutout.png?sig');
    assert.deepEqual(result.quality, { score: 0.4, flags: ['small_subject'] });
  });

  it('a rejected job rejects with rejected:<code>, the server message for the shopper and the detail for operators', async () => {
    const { job } = await uploaded({
      status: [() => response(200, status('rejected', { error: { code: 'corrupt', message: 'This file is damaged or incomplete — please choose the photo again', retryable: false, detail: 'VipsJpeg: bad header' } as JobStatus['error'] }))],
    });
    const err = await rejection(job.result());
    assert.equal(err.code, 'rejected:corrupt');
    assert.equal(err.message, 'This file is damaged or incomplete — please choose the photo again');
    assert.equal(err.detail, 'VipsJpeg: bad header');
    assert.equal(err.retryable, false);
  });

  it('a failed job rejects with failed:<code> and a fallback sentence when the server gave none', async () => {
    const { job } = await uploaded({ status: [() => response(200, status('failed', { error: { code: 'internal', message: '', retryable: true } }))] });
    const err = await rejection(job.result());
    assert.equal(err.code, 'failed:internal');
    assert.match(err.message, /Something went wrong/);
    assert.equal(err.retryable, true);
  });

  it('keeps polling through 202 received (Retry-After honoured, no onStatus), and a check that never starts ends as timeout', async () => {
    const received = () => response(202, { schemaVersion: 1, jobId: 'j', state: 'received', message: 'The photo has arrived and is being checked.' }, { 'Retry-After': '1' });
    const { job, sleeps } = await uploaded({ status: [received, received, () => response(200, status('succeeded', { outputs: [] }), { ETag: '"1.0"' })] });
    const events: string[] = [];
    await job.result({ onStatus: (s) => events.push(s.state) });
    assert.deepEqual(events, ['succeeded'], 'received is not a job state: the page hears of the job once it exists');
    assert.deepEqual(sleeps, [1000, 1000]);
    const never = await uploaded({ status: Array.from({ length: 200 }, () => received) });
    const err = await rejection(never.job.result());
    assert.equal(err.code, 'timeout');
    assert.equal(err.retryable, true);
  });

  it('a status that never appears ends as not_found, a job that never ends as timeout', async () => {
    const never = await uploaded({ status: Array.from({ length: 200 }, () => () => response(404, { error: { code: 'not_found', message: 'no job' } })) });
    assert.equal((await rejection(never.job.result())).code, 'not_found');
    const stuck = await uploaded({ status: Array.from({ length: 2000 }, () => () => response(200, status('processing'), { ETag: '"1"' })) });
    assert.equal((await rejection(stuck.job.result())).code, 'timeout');
  });

  it('rides out a few network failures while polling, then names the failure', async () => {
    const flaky = await uploaded({
      probe: () => Promise.reject(new TypeError('Failed to fetch')),
      status: [() => Promise.reject(new TypeError('Failed to fetch')), () => Promise.reject(new TypeError('Failed to fetch')), () => response(200, status('succeeded', { downloads: {} }))],
    });
    assert.equal((await flaky.job.result()).status.state, 'succeeded');
    const down = await uploaded({ probe: () => Promise.reject(new TypeError('x')), status: Array.from({ length: 10 }, () => () => Promise.reject(new TypeError('Failed to fetch'))) });
    assert.equal((await rejection(down.job.result())).code, 'network');
  });

  it('stops polling on abort', async () => {
    const controller = new AbortController();
    const { job, calls } = await uploaded({
      status: [
        () => response(200, status('queued'), { ETag: '"1"' }),
        () => {
          controller.abort();
          return response(304);
        },
        () => response(304),
      ],
    });
    assert.equal((await rejection(job.result({ signal: controller.signal }))).code, 'aborted');
    assert.equal(calls.length, 2);
  });
});

describe('browser client: Retry-After', () => {
  it('reads seconds and HTTP dates', () => {
    assert.equal(parseRetryAfter('5', 0), 5000);
    assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:10 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')), 10_000);
    assert.equal(parseRetryAfter('soon', 0), undefined);
    assert.equal(parseRetryAfter(null, 0), undefined);
  });
});
