// The four functions in real functions-framework processes against localcloud (Pub/Sub
// emulator, the project's Storage emulator, the Eventarc bridge), driven as a browser, an
// operator and the platform would drive them.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PubSub, type Message, type Subscription } from '@google-cloud/pubsub';
import { Storage } from '@google-cloud/storage';
import sharp from 'sharp';
import { gcsObjects } from '../../functions/gcp.js';
import { JobMessage } from '../../schemas/job.js';
import { StatusResponse } from '../../schemas/status.js';
import { UploadTicket } from '../../schemas/upload.js';
import { fromPubSubMessage } from '../../shared/completion.js';
import { batchJobId } from '../../shared/ids.js';
import type * as LocalCloudTypes from '../localcloud/index.js';

const HARNESS = new URL('../localcloud/index.ts', import.meta.url);
const SOURCE = fileURLToPath(new URL('../../functions/index.ts', import.meta.url));
const ORIGIN = 'http://localhost:5173';
const MAX_UPLOAD_BYTES = 3 * 1024 * 1024;

type LocalCloudModule = typeof LocalCloudTypes;
type Cloud = Awaited<ReturnType<LocalCloudModule['startLocalCloud']>>;
type Fn = Awaited<ReturnType<LocalCloudModule['startFunction']>>;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, check: () => T | undefined | Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

describe('functions through localcloud', { skip: existsSync(HARNESS) ? false : 'test/localcloud/index.ts is not there yet' }, () => {
  let cloud: Cloud;
  const fns: Record<string, Fn> = {};
  let pubsub: PubSub;
  let storage: Storage;
  const jobs: Message[] = [];
  const completions: Message[] = [];
  const subscriptions: Subscription[] = [];
  let jpeg: Buffer;

  before(async () => {
    const lc = (await import(HARNESS.href)) as LocalCloudModule;
    cloud = await lc.startLocalCloud({ retry: lc.FAST_RETRY, corsOrigins: [ORIGIN] });
    const env = {
      ...cloud.env,
      NODE_OPTIONS: '--import tsx',
      ALLOWED_ORIGINS: ORIGIN,
      MAX_UPLOAD_BYTES: String(MAX_UPLOAD_BYTES),
      RATE_LIMIT_BURST: '1000',
      LOG_LEVEL: 'warn',
      NODE_ENV: 'production',
    };
    const targets = [
      ['createUpload', 'http'],
      ['getStatus', 'http'],
      ['onObjectFinalized', 'cloudevent'],
      ['onDeadLetter', 'cloudevent'],
    ] as const;
    await Promise.all(
      targets.map(async ([target, signatureType]) => {
        fns[target] = await lc.startFunction({ source: SOURCE, target, signatureType, env, readyTimeoutMs: 60_000 });
      }),
    );
    cloud.routeStorage(fns['onObjectFinalized']!.url);
    await cloud.routeTopic(cloud.names.deadLetterTopic, fns['onDeadLetter']!.url);
    pubsub = new PubSub({ projectId: cloud.projectId, apiEndpoint: cloud.pubsubHost, emulatorMode: true });
    storage = new Storage({ projectId: cloud.projectId, apiEndpoint: cloud.storageUrl, keyFilename: cloud.keyFile });
    // Stand in for the worker and a fulfilment system: take every message and ack it.
    subscriptions.push(pubsub.subscription(cloud.names.jobsSubscription), pubsub.subscription(cloud.names.completionsSubscription));
    subscriptions[0]?.on('message', (m: Message) => {
      jobs.push(m);
      m.ack();
    });
    subscriptions[1]?.on('message', (m: Message) => {
      completions.push(m);
      m.ack();
    });
    jpeg = await sharp(fileURLToPath(new URL('../fixtures/photos/opencv-baboon.jpg', import.meta.url))).resize(400).jpeg().toBuffer();
  });

  after(async () => {
    await Promise.all(Object.values(fns).map((f) => f.stop()));
    for (const sub of subscriptions) {
      sub.removeAllListeners('message');
      await sub.close();
    }
    await pubsub?.close();
    await cloud?.stop();
  });

  const jobsFor = (jobId: string): JobMessage[] => jobs.map((m) => JobMessage.parse(JSON.parse(m.data.toString('utf8')))).filter((j) => j.jobId === jobId);

  async function ticketFor(body: unknown): Promise<UploadTicket> {
    const res = await fetch(new URL('/uploads', fns['createUpload']!.url), { method: 'POST', headers: { 'content-type': 'application/json', origin: ORIGIN }, body: JSON.stringify(body) });
    assert.equal(res.status, 201, await res.clone().text());
    assert.equal(res.headers.get('access-control-allow-origin'), ORIGIN);
    return UploadTicket.parse(await res.json());
  }

  /** Exactly what a browser does with the ticket: fetch PUT with the returned headers. */
  const put = (ticket: UploadTicket, body: Buffer, headers: Record<string, string> = ticket.upload.headers): Promise<Response> =>
    fetch(ticket.upload.url, { method: 'PUT', headers: { ...headers, origin: ORIGIN }, body });

  const status = (jobId: string, headers: Record<string, string> = {}): Promise<Response> =>
    fetch(new URL(`/jobs/${jobId}`, fns['getStatus']!.url), { headers: { origin: ORIGIN, ...headers } });

  async function finalizedEvent(name: string): Promise<{ headers: Record<string, string>; body: string }> {
    const [metadata] = await storage.bucket(cloud.uploadsBucket).file(name).getMetadata();
    return {
      headers: {
        'content-type': 'application/json',
        'ce-specversion': '1.0',
        'ce-id': `replay-${String(metadata.generation)}`,
        'ce-type': 'google.cloud.storage.object.v1.finalized',
        'ce-source': `//storage.googleapis.com/projects/_/buckets/${cloud.uploadsBucket}`,
        'ce-subject': `objects/${name}`,
      },
      body: JSON.stringify({ ...metadata, generation: String(metadata.generation), size: String(metadata.size) }),
    };
  }

  let uploadedJobId = '';

  it('a browser upload becomes exactly one JobMessage and a queued status; getStatus answers 200 then 304', async () => {
    const ticket = await ticketFor({ contentType: 'image/jpeg', contentLength: jpeg.length, outputs: ['cutout', 'mask'], clientRef: 'order 42' });
    const res = await put(ticket, jpeg);
    assert.equal(res.status, 200, await res.text());
    const [job] = await until('the job message', () => (jobsFor(ticket.jobId).length ? jobsFor(ticket.jobId) : undefined));
    assert.equal(job?.source.name, `uploads/${ticket.jobId}/original`);
    assert.equal(job?.source.contentType, 'image/jpeg');
    assert.equal(job?.source.width, 400);
    assert.deepEqual(job?.outputs, ['cutout', 'mask']);
    assert.equal(job?.clientRef, 'order 42');
    const first = await status(ticket.jobId);
    assert.equal(first.status, 200);
    assert.equal(StatusResponse.parse(await first.json()).state, 'queued');
    assert.equal(first.headers.get('cache-control'), 'no-store');
    const etag = first.headers.get('etag') ?? '';
    assert.ok(etag);
    const second = await status(ticket.jobId, { 'if-none-match': etag });
    assert.equal(second.status, 304);
    await sleep(1_500);
    assert.equal(jobsFor(ticket.jobId).length, 1, 'exactly one job');
    uploadedJobId = ticket.jobId;
  });

  it('the same finalize event delivered twice still gives one job', async () => {
    assert.ok(uploadedJobId);
    const event = await finalizedEvent(`uploads/${uploadedJobId}/original`);
    for (let i = 0; i < 2; i++) {
      const res = await fetch(fns['onObjectFinalized']!.url, { method: 'POST', headers: event.headers, body: event.body });
      assert.ok(res.status >= 200 && res.status < 300, `delivery ${i} answered ${res.status}`);
    }
    await sleep(1_500);
    assert.equal(jobsFor(uploadedJobId).length, 1);
  });

  it('storage refuses a PUT with the wrong content type, too many bytes, or an expired URL', async () => {
    const ticket = await ticketFor({ contentType: 'image/jpeg', contentLength: jpeg.length });
    const wrongType = await put(ticket, jpeg, { ...ticket.upload.headers, 'Content-Type': 'image/png' });
    assert.ok(wrongType.status >= 400 && wrongType.status < 500, `wrong type answered ${wrongType.status}`);
    const tooMany = await put(ticket, Buffer.concat([jpeg, Buffer.alloc(10)]));
    assert.ok(tooMany.status >= 400 && tooMany.status < 500, `too many bytes answered ${tooMany.status}`);
    // Same adapter and key the function uses, with a one-second lifetime.
    const url = await gcsObjects(storage).signedUrl({
      bucket: cloud.uploadsBucket,
      name: `uploads/${ticket.jobId}/original`,
      method: 'PUT',
      expiresAt: new Date(Date.now() + 1_000),
      contentType: 'image/jpeg',
      extensionHeaders: { 'x-goog-content-length-range': `0,${jpeg.length}` },
    });
    await sleep(2_100);
    const expired = await fetch(url, { method: 'PUT', headers: { 'Content-Type': 'image/jpeg', 'x-goog-content-length-range': `0,${jpeg.length}` }, body: jpeg });
    assert.ok(expired.status >= 400 && expired.status < 500, `expired URL answered ${expired.status}`);
    const [exists] = await storage.bucket(cloud.uploadsBucket).file(`uploads/${ticket.jobId}/original`).exists();
    assert.equal(exists, false);
  });

  it('a batch drop gets its deterministic job id', async () => {
    const name = 'batch/shoot-7/rex.png';
    const file = storage.bucket(cloud.uploadsBucket).file(name);
    await file.save(jpeg, { contentType: 'image/png', resumable: false });
    const [metadata] = await file.getMetadata();
    const jobId = batchJobId(cloud.uploadsBucket, name, String(metadata.generation));
    const [job] = await until('the batch job', () => (jobsFor(jobId).length ? jobsFor(jobId) : undefined));
    assert.equal(job?.trigger, 'batch');
    assert.equal(job?.source.contentType, 'image/jpeg', 'content wins over the name for batch drops');
  });

  it('a corrupt upload ends rejected, with a completion event', async () => {
    const truncated = jpeg.subarray(0, Math.floor(jpeg.length / 2));
    const ticket = await ticketFor({ contentType: 'image/jpeg', contentLength: truncated.length });
    assert.equal((await put(ticket, truncated)).status, 200);
    const doc = await until('the rejection', async () => {
      const res = await status(ticket.jobId);
      if (res.status !== 200) return undefined;
      const body = StatusResponse.parse(await res.json());
      return body.state === 'rejected' ? body : undefined;
    });
    assert.equal(doc.error?.code, 'corrupt');
    const event = await until('the completion event', () => {
      const m = completions.find((c) => c.attributes['ce-subject'] === `jobs/${ticket.jobId}`);
      return m && fromPubSubMessage({ data: m.data, attributes: m.attributes });
    });
    assert.equal(event.data.outcome, 'rejected');
    assert.equal(jobsFor(ticket.jobId).length, 0);
  });

  it('a dead-lettered job ends failed with its delivery count', async () => {
    assert.ok(uploadedJobId);
    const message = jobsFor(uploadedJobId)[0];
    assert.ok(message);
    await pubsub.topic(cloud.names.deadLetterTopic).publishMessage({ data: Buffer.from(JSON.stringify(message)), attributes: { CloudPubSubDeadLetterSourceDeliveryCount: '5' } });
    const doc = await until('the failed status', async () => {
      const body = StatusResponse.parse(await (await status(uploadedJobId)).json());
      return body.state === 'failed' ? body : undefined;
    });
    assert.equal(doc.error?.code, 'dead_lettered');
    assert.equal(doc.attempts, 5);
  });

  it('bad input over HTTP is never a 500', async () => {
    const cases: Array<{ url: string; init: RequestInit; status: number }> = [
      { url: '/uploads', init: { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"contentType": ' }, status: 400 },
      { url: '/uploads', init: { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'nonsense' }, status: 415 },
      { url: '/uploads', init: { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ contentType: 'image/heic', contentLength: 5 }) }, status: 400 },
      // GET /uploads answers the upload limits (the browser client's config call); other verbs are refused.
      { url: '/uploads', init: { method: 'DELETE' }, status: 405 },
      { url: '/uploads', init: { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{}' }, status: 405 },
    ];
    for (const c of cases) {
      const res = await fetch(new URL(c.url, fns['createUpload']!.url), c.init);
      assert.equal(res.status, c.status, `${c.init.method} ${String(c.init.body)}`);
    }
    assert.equal((await status('..%2F..%2Fetc')).status, 400);
    assert.equal((await status('ffffffffffffffffffffffffffffffff')).status, 404);
    const preflight = await fetch(new URL('/uploads', fns['createUpload']!.url), { method: 'OPTIONS', headers: { origin: ORIGIN, 'access-control-request-method': 'POST' } });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers.get('access-control-allow-origin'), ORIGIN);
  });
});
