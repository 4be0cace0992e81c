// The Eventarc bridge: pure CloudEvent shapes as tables, then the bridge between the official
// Pub/Sub emulator and a real functions-framework process (spec test 12 and the retry rules).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PubSub } from '@google-cloud/pubsub';
import { messagePublishedEvent, PUBSUB_PUBLISHED, STORAGE_FINALIZED, storageFinalizedEvent, type PubsubMessageLike } from './cloudevents.js';
import { backoffMs, deliver, FAST_RETRY, verdictFor } from './delivery.js';
import { EventarcBridge, type DeliveryRecord } from './eventarc.js';
import { startFunction, type FunctionProcess } from './functions-framework.js';
import { freePort, startPubsubEmulator, type PubsubEmulator } from './pubsub.js';
import { uniqueId, waitFor } from './test-helpers.js';
import { createTopology, DEFAULT_NAMES, describeTopology } from './topology.js';

const projectId = 'petcutout-local';
const RECORDER = fileURLToPath(new URL('./fixtures/recorder.mjs', import.meta.url));

const msg = (over: Partial<PubsubMessageLike>): PubsubMessageLike => ({
  id: '42',
  data: Buffer.alloc(0),
  attributes: {},
  publishTime: new Date('2026-11-23T10:00:00.000Z'),
  ...over,
});

describe('CloudEvent shapes', () => {
  it('object.v1.finalized: binary headers, numbers as strings, id = notification message id', () => {
    const resource = { bucket: 'up', name: 'uploads/a b/original', generation: 17, metageneration: '1', size: 2048, contentType: 'image/png', md5Hash: 'x', crc32c: 'y' };
    const e = storageFinalizedEvent(msg({ data: Buffer.from(JSON.stringify(resource)), attributes: { eventType: 'OBJECT_FINALIZE', bucketId: 'up', objectId: resource.name, eventTime: '2026-11-23T10:00:01.000Z' } }));
    assert.ok(e);
    assert.deepEqual(e.headers, {
      'content-type': 'application/json',
      'ce-specversion': '1.0',
      'ce-id': '42',
      'ce-type': STORAGE_FINALIZED,
      'ce-source': '//storage.googleapis.com/projects/_/buckets/up',
      'ce-subject': 'objects/uploads/a b/original',
      'ce-time': '2026-11-23T10:00:01.000Z',
    });
    assert.deepEqual(JSON.parse(e.body), { ...resource, generation: '17', size: '2048' });
  });
  const ignored: { name: string; m: PubsubMessageLike }[] = [
    { name: 'a delete notification', m: msg({ attributes: { eventType: 'OBJECT_DELETE', bucketId: 'b', objectId: 'o' } }) },
    { name: 'a message with no object', m: msg({ data: Buffer.from('not json') }) },
  ];
  for (const c of ignored) it(`ignores ${c.name}`, () => assert.equal(storageFinalizedEvent(c.m), undefined));
  it('payload NONE: the object comes from the attributes', () => {
    const e = storageFinalizedEvent(msg({ attributes: { eventType: 'OBJECT_FINALIZE', bucketId: 'b', objectId: 'o', objectGeneration: '3' } }));
    assert.deepEqual(JSON.parse(e?.body ?? ''), { generation: '3', bucket: 'b', name: 'o' });
    assert.equal(e?.headers['ce-time'], '2026-11-23T10:00:00.000Z');
  });
  it('topic.v1.messagePublished wraps the message as a push envelope', () => {
    const e = messagePublishedEvent(msg({ data: Buffer.from('hi'), attributes: { a: '1' } }), 'p1', 'dead', 'dead-sub');
    assert.equal(e.headers['ce-source'], '//pubsub.googleapis.com/projects/p1/topics/dead');
    assert.equal(e.headers['ce-type'], PUBSUB_PUBLISHED);
    assert.equal(e.headers['ce-subject'], undefined);
    assert.deepEqual(JSON.parse(e.body), {
      message: { data: Buffer.from('hi').toString('base64'), attributes: { a: '1' }, messageId: '42', publishTime: '2026-11-23T10:00:00.000Z' },
      subscription: 'projects/p1/subscriptions/dead-sub',
    });
  });
  // Pub/Sub push (Eventarc's transport) nacks on anything but 2xx: a 404 from a misdeployed
  // function is retried like a 500, so the events arrive once it is fixed.
  const verdicts: [number, boolean, string][] = [
    [200, true, 'delivered'],
    [204, true, 'delivered'],
    [400, true, 'retry'],
    [404, true, 'retry'],
    [408, true, 'retry'],
    [429, true, 'retry'],
    [500, true, 'retry'],
    [503, true, 'retry'],
    [204, false, 'delivered'],
    [404, false, 'drop'],
    [500, false, 'drop'],
  ];
  for (const [status, retries, verdict] of verdicts) it(`HTTP ${status}, retries ${retries ? 'on' : 'off'} -> ${verdict}`, () => assert.equal(verdictFor(status, { retries }), verdict));
  it('retries stop once the event is maxAgeMs old (Eventarc: 24 h), however many attempts that is', async () => {
    const url = `http://127.0.0.1:${await freePort()}/`; // nobody listens
    const t0 = Date.now();
    const r = await deliver({ id: 'e1', type: 't', source: 's', headers: {}, body: '{}' }, url, { retries: true, initialDelayMs: 20, maxDelayMs: 20, factor: 1, maxAgeMs: 300, requestTimeoutMs: 1_000 }, new AbortController().signal);
    assert.equal(r.outcome, 'failed');
    assert.ok(r.attempts.length >= 4, `${r.attempts.length} attempts`);
    assert.ok(r.attempts.every((a) => a.at - t0 <= 300), 'no attempt after maxAgeMs');
    assert.match(r.error ?? '', /ECONNREFUSED/);
  });
  it('with retries off a failed attempt is the end: dropped, one attempt', async () => {
    const url = `http://127.0.0.1:${await freePort()}/`;
    const r = await deliver({ id: 'e1', type: 't', source: 's', headers: {}, body: '{}' }, url, { ...FAST_RETRY, retries: false }, new AbortController().signal);
    assert.deepEqual([r.outcome, r.attempts.length], ['dropped', 1]);
  });
  it('backoff grows by the factor up to the cap', () => {
    const s = { initialDelayMs: 100, maxDelayMs: 1_000, factor: 3 };
    assert.deepEqual([1, 2, 3, 4].map((a) => backoffMs(a, s)), [100, 300, 900, 1_000]);
  });
});

describe('Eventarc bridge with the official emulator and functions-framework', { concurrency: true }, () => {
  const BUCKET = 'uploads-test';
  let emu: PubsubEmulator;
  let pubsub: PubSub;
  let fn: FunctionProcess;
  let bridge: EventarcBridge;
  let dir: string;
  let recordFile: string;
  let notFound: Server;
  let notFoundUrl: string;
  let downUrl: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'eventarc-test-'));
    recordFile = join(dir, 'events.jsonl');
    [emu, fn] = await Promise.all([startPubsubEmulator(), startFunction({ source: RECORDER, target: 'recorder', env: { RECORD_FILE: recordFile } })]);
    pubsub = new PubSub({ projectId, apiEndpoint: emu.host });
    await createTopology(pubsub, describeTopology());
    notFound = createServer((_req, res) => res.writeHead(404).end('no such function'));
    await new Promise<void>((resolve) => notFound.listen(0, '127.0.0.1', resolve));
    notFoundUrl = `http://127.0.0.1:${(notFound.address() as { port: number }).port}/`;
    downUrl = `http://127.0.0.1:${await freePort()}/`; // nobody listens: connection refused
    bridge = new EventarcBridge({ pubsub, projectId, storageSubscription: DEFAULT_NAMES.storageSubscription, retry: FAST_RETRY });
    bridge.routeStorage(fn.url, { bucket: BUCKET });
    bridge.routeStorage(notFoundUrl, { bucket: 'gone-bucket' });
    bridge.routeStorage(downUrl, { bucket: 'down-bucket' });
    await bridge.routeTopic(DEFAULT_NAMES.deadLetterTopic, fn.url, DEFAULT_NAMES.deadLetterSubscription);
  });
  after(async () => {
    await bridge?.stop();
    await pubsub?.close();
    await Promise.all([emu?.stop(), fn?.stop(), new Promise((resolve) => (notFound ? notFound.close(resolve) : resolve(undefined)))]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const notify = (bucket: string, name: string, generation: number): Promise<string> =>
    pubsub.topic(DEFAULT_NAMES.storageNotificationsTopic).publishMessage({
      json: { kind: 'storage#object', bucket, name, generation: String(generation), metageneration: '1', size: 12, contentType: 'image/jpeg' },
      attributes: { eventType: 'OBJECT_FINALIZE', payloadFormat: 'JSON_API_V1', bucketId: bucket, objectId: name, objectGeneration: String(generation), eventTime: new Date().toISOString() },
    });
  const recordsFor = (name: string) => (records: readonly DeliveryRecord[]) => records.filter((r) => r.subject === `objects/${name}`);
  const received = (): { id: string; type: string; source: string; subject?: string; specversion: string; time: string; data: Record<string, unknown>; fail: boolean; at: number }[] =>
    readFileSync(recordFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l));

  it('12: one finalize CloudEvent per generation, accepted (204) by a functions-framework function', async () => {
    const name = `uploads/${uniqueId('job')}/original`;
    const ids = [await notify(BUCKET, name, 1), await notify(BUCKET, name, 2)];
    const records = recordsFor(name)(await bridge.waitForDeliveries((r) => recordsFor(name)(r).length >= 2));
    assert.deepEqual(records.map((r) => [r.outcome, r.httpStatus, r.attempts.length]), [
      ['delivered', 204, 1],
      ['delivered', 204, 1],
    ]);
    const events = received().filter((e) => e.subject === `objects/${name}`);
    assert.deepEqual(events.map((e) => e.id).sort(), [...ids].sort());
    assert.deepEqual(events.map((e) => e.data['generation']).sort(), ['1', '2']);
    for (const e of events) {
      assert.equal(e.type, STORAGE_FINALIZED);
      assert.equal(e.source, `//storage.googleapis.com/projects/_/buckets/${BUCKET}`);
      assert.equal(e.specversion, '1.0');
      // functions-framework maps only ce-* headers to attributes (not Content-Type), so the
      // JSON content type shows as data arriving parsed.
      assert.equal(typeof e.data, 'object');
      assert.equal(e.data['size'], '12');
      assert.ok(!Number.isNaN(Date.parse(e.time)));
    }
  });

  it('12: a function that fails twice (500) is retried with growing backoff, then succeeds', async () => {
    const name = `uploads/${uniqueId('fail-twice')}/original`;
    await notify(BUCKET, name, 1);
    const [rec] = recordsFor(name)(await bridge.waitForDeliveries((r) => recordsFor(name)(r).length >= 1));
    assert.ok(rec);
    assert.deepEqual([rec.outcome, rec.httpStatus, rec.attempts.map((a) => a.status)], ['delivered', 204, [500, 500, 204]]);
    const [a0, a1, a2] = rec.attempts.map((a) => a.at);
    assert.ok(a0 !== undefined && a1 !== undefined && a2 !== undefined);
    assert.ok(a1 - a0 >= FAST_RETRY.initialDelayMs && a2 - a1 >= FAST_RETRY.initialDelayMs * FAST_RETRY.factor, `gaps ${a1 - a0}, ${a2 - a1} ms`);
    const events = received().filter((e) => e.subject === `objects/${name}`);
    assert.equal(new Set(events.map((e) => e.id)).size, 1, 'every retry carries the same ce-id');
  });

  it('a function that always fails is recorded as failed after max attempts, and the notification is acked', async () => {
    const name = `uploads/${uniqueId('fail-always')}/original`;
    await notify(BUCKET, name, 1);
    const [rec] = recordsFor(name)(await bridge.waitForDeliveries((r) => recordsFor(name)(r).length >= 1));
    assert.ok(rec);
    assert.equal(rec.outcome, 'failed');
    assert.equal(rec.httpStatus, 500);
    assert.equal(rec.attempts.length, FAST_RETRY.maxAttempts);
    assert.match(rec.error ?? '', /^HTTP 500/);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    assert.equal(recordsFor(name)(bridge.deliveries()).length, 1, 'acked: not delivered again');
    assert.equal(received().filter((e) => e.subject === `objects/${name}`).length, FAST_RETRY.maxAttempts);
  });

  it('a 4xx and a connection failure are retried like a 5xx, then recorded; other buckets are not routed', async () => {
    const gone = uniqueId('gone');
    const down = uniqueId('down');
    const elsewhere = uniqueId('elsewhere');
    await Promise.all([notify('gone-bucket', gone, 1), notify('down-bucket', down, 1), notify('unrouted-bucket', elsewhere, 1)]);
    const records = await bridge.waitForDeliveries((r) => recordsFor(gone)(r).length + recordsFor(down)(r).length >= 2);
    const [g] = recordsFor(gone)(records);
    const [d] = recordsFor(down)(records);
    assert.deepEqual([g?.outcome, g?.httpStatus, g?.attempts.length, g?.url], ['failed', 404, FAST_RETRY.maxAttempts, notFoundUrl]);
    assert.deepEqual([d?.outcome, d?.httpStatus, d?.attempts.length], ['failed', undefined, FAST_RETRY.maxAttempts]);
    assert.match(d?.error ?? '', /ECONNREFUSED/);
    assert.equal(recordsFor(elsewhere)(bridge.deliveries()).length, 0);
  });

  it('routes the dead-letter topic as topic.v1.messagePublished events', async () => {
    const body = JSON.stringify({ jobId: uniqueId('dead') });
    const messageId = await pubsub.topic(DEFAULT_NAMES.deadLetterTopic).publishMessage({ data: Buffer.from(body), attributes: { CloudPubSubDeadLetterSourceDeliveryCount: '5' } });
    await bridge.waitForDeliveries((r) => r.some((x) => x.ceId === messageId));
    const event = received().find((e) => e.id === messageId);
    assert.ok(event);
    assert.equal(event.type, PUBSUB_PUBLISHED);
    assert.equal(event.source, `//pubsub.googleapis.com/projects/${projectId}/topics/${DEFAULT_NAMES.deadLetterTopic}`);
    const data = event.data as { message: { data: string; attributes: Record<string, string>; messageId: string; publishTime: string }; subscription: string };
    assert.equal(Buffer.from(data.message.data, 'base64').toString(), body);
    assert.deepEqual(data.message.attributes, { CloudPubSubDeadLetterSourceDeliveryCount: '5' });
    assert.equal(data.message.messageId, messageId);
    assert.ok(!Number.isNaN(Date.parse(data.message.publishTime)));
    assert.equal(data.subscription, `projects/${projectId}/subscriptions/${DEFAULT_NAMES.deadLetterSubscription}`);
  });

  it('at-least-once: a bridge stopped mid-retry nacks, and the redelivery keeps the ce-id', async () => {
    const topic = uniqueId('notify');
    const sub = uniqueId('eventarc');
    await pubsub.createTopic(topic);
    await pubsub.createSubscription(topic, sub);
    const slow = new EventarcBridge({ pubsub, projectId, storageSubscription: sub, retry: { ...FAST_RETRY, initialDelayMs: 60_000 } });
    slow.routeStorage(downUrl);
    const name = uniqueId('handover');
    const messageId = await pubsub.topic(topic).publishMessage({ json: { bucket: BUCKET, name, generation: '1' }, attributes: { eventType: 'OBJECT_FINALIZE', bucketId: BUCKET, objectId: name } });
    // Wait until the first attempt failed and the bridge sits in its long backoff.
    await waitFor('a message in flight', () => (slow.pending() > 0 ? true : undefined), 10_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await slow.stop();
    assert.equal(slow.deliveries().length, 0, 'an aborted delivery is not a final outcome');
    const next = new EventarcBridge({ pubsub, projectId, storageSubscription: sub, retry: FAST_RETRY });
    next.routeStorage(fn.url);
    try {
      const [rec] = await next.waitForDeliveries((r) => r.length >= 1, 20_000);
      assert.deepEqual([rec?.ceId, rec?.outcome, rec?.subject], [messageId, 'delivered', `objects/${name}`]);
    } finally {
      await next.stop();
    }
  });
});
