// Bucket notifications: configs made through the official storage client, OBJECT_FINALIZE
// messages published to the OFFICIAL Pub/Sub emulator (started by test/localcloud/pubsub.ts)
// with the JSON_API_V1 payload and Cloud Storage's attributes.
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { PubSub, type Message, type Subscription } from '@google-cloud/pubsub';
import { pino } from 'pino';
import { startPubsubEmulator, type PubsubEmulator } from '../pubsub.js';
import { BUCKET, PROJECT_ID, startHarness, type Harness } from './harness.js';

const TOPIC = 'storage-notifications';
const SUBSCRIPTION = 'storage-notifications-test';

describe('storage emulator: notifications to the Pub/Sub emulator', () => {
  let ps: PubsubEmulator;
  let pubsub: PubSub;
  let h: Harness;
  let sub: Subscription;
  const logLines: Array<Record<string, unknown>> = [];
  const received: Message[] = [];

  before(async () => {
    ps = await startPubsubEmulator();
    pubsub = new PubSub({ projectId: PROJECT_ID, apiEndpoint: ps.host });
    const [topic] = await pubsub.createTopic(TOPIC);
    [sub] = await topic.createSubscription(SUBSCRIPTION);
    sub.on('message', (m: Message) => {
      received.push(m);
      m.ack();
    });
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    h = await startHarness({ pubsub: { apiEndpoint: ps.host, projectId: PROJECT_ID }, log: pino({ level: 'info' }, sink) });
  });
  after(async () => {
    await h?.close();
    // Open StreamingPull streams would keep the test process alive.
    await sub?.close();
    await pubsub?.close();
    await ps?.stop();
  });

  async function waitFor(pred: (m: Message) => boolean, timeoutMs = 15_000): Promise<Message> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const hit = received.find(pred);
      if (hit) return hit;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error('no matching notification arrived');
  }

  it('createNotification through the client, then each finalize publishes OBJECT_FINALIZE', async () => {
    const bucket = h.storage.bucket(BUCKET);
    const [notification, apiResponse] = await bucket.createNotification(TOPIC, { eventTypes: ['OBJECT_FINALIZE'] });
    assert.equal((apiResponse as { topic: string }).topic, `//pubsub.googleapis.com/projects/${PROJECT_ID}/topics/${TOPIC}`);
    assert.equal((apiResponse as { payload_format: string }).payload_format, 'JSON_API_V1');
    const [listed] = await bucket.getNotifications();
    assert.deepEqual(listed.map((n) => n.id), [notification.id]);

    const file = bucket.file('notify/one.jpg');
    await file.save(Buffer.from('jpeg bytes'), { contentType: 'image/jpeg' });
    const [meta] = await file.getMetadata();
    const msg = await waitFor((m) => m.attributes['objectId'] === 'notify/one.jpg');
    assert.deepEqual(
      { ...msg.attributes, eventTime: undefined },
      {
        notificationConfig: `projects/_/buckets/${BUCKET}/notificationConfigs/${notification.id}`,
        eventType: 'OBJECT_FINALIZE',
        payloadFormat: 'JSON_API_V1',
        bucketId: BUCKET,
        objectId: 'notify/one.jpg',
        objectGeneration: String(meta.generation),
        eventTime: undefined,
      },
    );
    assert.ok(!Number.isNaN(Date.parse(msg.attributes['eventTime']!)));
    const payload = JSON.parse(msg.data.toString()) as Record<string, unknown>;
    assert.equal(payload['kind'], 'storage#object');
    assert.equal(payload['name'], 'notify/one.jpg');
    assert.equal(payload['generation'], meta.generation);
    assert.equal(payload['crc32c'], meta.crc32c);
    assert.equal(payload['size'], '10');

    // A metadata change is not a finalize: the config filters it out. A new generation is.
    await file.setMetadata({ metadata: { a: 'b' } });
    await file.save(Buffer.from('second generation'));
    const [meta2] = await file.getMetadata();
    await waitFor((m) => m.attributes['objectGeneration'] === String(meta2.generation));
    await h.emu.flushNotifications();
    const forObject = received.filter((m) => m.attributes['objectId'] === 'notify/one.jpg');
    assert.deepEqual(forObject.map((m) => m.attributes['eventType']), ['OBJECT_FINALIZE', 'OBJECT_FINALIZE']);

    await notification.delete();
    assert.deepEqual((await bucket.getNotifications())[0], []);
  });

  it('a notification to a missing topic is logged, not fatal', async () => {
    await h.emu.ensureBucket({ name: 'orphan-bucket' });
    await h.emu.addNotification('orphan-bucket', { topic: 'no-such-topic' });
    await h.storage.bucket('orphan-bucket').file('x.txt').save('x');
    await h.emu.flushNotifications();
    const failure = logLines.find((l) => l['event'] === 'storage.notification.publishFailed');
    assert.ok(failure, 'the publish failure is logged');
    assert.equal(failure['topic'], `//pubsub.googleapis.com/projects/${PROJECT_ID}/topics/no-such-topic`);
    const [bytes] = await h.storage.bucket('orphan-bucket').file('x.txt').download();
    assert.equal(bytes.toString(), 'x');
  });

  it('programmatic config with an object name prefix only notifies matching objects', async () => {
    await h.emu.ensureBucket({ name: 'prefixed' });
    await h.emu.addNotification('prefixed', { topic: `projects/${PROJECT_ID}/topics/${TOPIC}`, objectNamePrefix: 'in/', customAttributes: { source: 'test' } });
    await h.storage.bucket('prefixed').file('out/skip.txt').save('no');
    await h.storage.bucket('prefixed').file('in/take.txt').save('yes');
    const msg = await waitFor((m) => m.attributes['bucketId'] === 'prefixed');
    assert.equal(msg.attributes['objectId'], 'in/take.txt');
    assert.equal(msg.attributes['source'], 'test');
    await h.emu.flushNotifications();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(received.filter((m) => m.attributes['objectId'] === 'out/skip.txt').length, 0);
  });
});
