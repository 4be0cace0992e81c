// The whole of localcloud through the official clients: a real upload (client and signed URL)
// becomes a finalize CloudEvent at a functions-framework function; a job nacked N times reaches
// the onDeadLetter route; a process given only `env` works; stop() leaves nothing behind.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { PubSub } from '@google-cloud/pubsub';
import { Storage } from '@google-cloud/storage';
import { formatExports } from './cli.js';
import { PUBSUB_PUBLISHED, STORAGE_FINALIZED } from './cloudevents.js';
import { FAST_RETRY, startFunction, startLocalCloud, type FunctionProcess, type LocalCloud } from './index.js';
import { groupAlive } from './pubsub.js';
import { listen, uniqueId, waitFor } from './test-helpers.js';

const RECORDER = fileURLToPath(new URL('./fixtures/recorder.mjs', import.meta.url));
const ENV_CLIENT = fileURLToPath(new URL('./fixtures/env-client.mjs', import.meta.url));

interface RecordedEvent {
  id: string;
  type: string;
  source: string;
  subject?: string;
  data: Record<string, unknown>;
}

// Kept between the two suites: the second restarts on it.
const dataDir = mkdtempSync(join(tmpdir(), 'localcloud-kept-'));
let cloud: LocalCloud;

describe('startLocalCloud', { concurrency: true }, () => {
  let fn: FunctionProcess;
  let storage: Storage;
  let pubsub: PubSub;
  let recordFile: string;
  const events = (): RecordedEvent[] =>
    existsSync(recordFile)
      ? readFileSync(recordFile, 'utf8')
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l) as RecordedEvent)
      : [];

  before(async () => {
    const started = Date.now();
    cloud = await startLocalCloud({ dataDir, retry: FAST_RETRY, policy: { minBackoffSeconds: 0, maxBackoffSeconds: 1 } });
    console.log(`# localcloud up in ${Date.now() - started} ms`);
    recordFile = join(cloud.dataDir, 'events.jsonl');
    fn = await startFunction({ source: RECORDER, target: 'recorder', env: { ...cloud.env, RECORD_FILE: recordFile } });
    cloud.routeStorage(fn.url);
    await cloud.routeTopic(cloud.names.deadLetterTopic, fn.url);
    storage = new Storage({ projectId: cloud.projectId, apiEndpoint: cloud.storageUrl, keyFilename: cloud.keyFile });
    pubsub = new PubSub({ projectId: cloud.projectId, apiEndpoint: cloud.pubsubHost });
  });
  after(async () => {
    await pubsub?.close();
    await fn?.stop();
    await cloud?.stop();
  });

  it('env holds everything a process needs', () => {
    assert.deepEqual(Object.keys(cloud.env).sort(), [
      'COMPLETIONS_TOPIC',
      'DEAD_LETTER_TOPIC',
      'GOOGLE_APPLICATION_CREDENTIALS',
      'GOOGLE_CLOUD_PROJECT',
      'JOBS_SUBSCRIPTION',
      'JOBS_TOPIC',
      'METADATA_SERVER_DETECTION',
      'PUBSUB_EMULATOR_HOST',
      'PUBSUB_PROJECT_ID',
      'RESULTS_BUCKET',
      'STORAGE_EMULATOR_HOST',
      'UPLOADS_BUCKET',
    ]);
    assert.equal(cloud.env['STORAGE_EMULATOR_HOST'], cloud.storageUrl);
    assert.equal(cloud.env['PUBSUB_EMULATOR_HOST'], cloud.pubsubHost);
    assert.equal(JSON.parse(readFileSync(cloud.keyFile, 'utf8')).type, 'service_account');
    assert.match(formatExports(cloud.env), /^export PUBSUB_EMULATOR_HOST='127\.0\.0\.1:\d+'$/m);
  });

  it('12: each new generation in the uploads bucket is one finalize CloudEvent accepted with 204', async () => {
    const name = `uploads/${uniqueId('job')}/original`;
    const file = storage.bucket(cloud.uploadsBucket).file(name);
    await file.save(Buffer.from('first'), { contentType: 'image/jpeg' });
    await file.save(Buffer.from('second!'), { contentType: 'image/jpeg', resumable: false });
    const [meta] = await file.getMetadata();
    await storage.bucket(cloud.resultsBucket).file(name).save(Buffer.from('not a trigger'));
    const records = (await cloud.waitForDeliveries((r) => r.filter((x) => x.subject === `objects/${name}`).length >= 2)).filter((x) => x.subject === `objects/${name}`);
    assert.deepEqual(records.map((r) => [r.outcome, r.httpStatus]), [
      ['delivered', 204],
      ['delivered', 204],
    ]);
    const got = events().filter((e) => e.subject === `objects/${name}`);
    assert.equal(got.length, 2);
    assert.equal(new Set(got.map((e) => e.id)).size, 2);
    const last = got.find((e) => e.data['generation'] === String(meta.generation));
    assert.ok(last, `an event for generation ${meta.generation}`);
    assert.equal(last.type, STORAGE_FINALIZED);
    assert.equal(last.source, `//storage.googleapis.com/projects/_/buckets/${cloud.uploadsBucket}`);
    assert.deepEqual(
      [last.data['bucket'], last.data['size'], last.data['contentType'], last.data['md5Hash'], last.data['crc32c'], last.data['metageneration']],
      [cloud.uploadsBucket, '7', 'image/jpeg', meta.md5Hash, meta.crc32c, '1'],
    );
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    assert.equal(events().filter((e) => e.subject === `objects/${name}`).length, 2, 'no duplicate arrived later');
    assert.equal(cloud.deliveries().filter((x) => x.source.endsWith(`/${cloud.resultsBucket}`)).length, 0, 'results bucket writes do not trigger');
  });

  it('a browser-style PUT to a V4 signed URL triggers the function too', async () => {
    const name = `uploads/${uniqueId('signed')}/original`;
    const [url] = await storage
      .bucket(cloud.uploadsBucket)
      .file(name)
      .getSignedUrl({ version: 'v4', action: 'write', expires: Date.now() + 5 * 60_000, contentType: 'image/png' });
    const res = await fetch(url, { method: 'PUT', headers: { 'content-type': 'image/png', origin: 'http://localhost:5173' }, body: Buffer.from('png bytes') });
    assert.equal(res.status, 200, await res.text());
    await cloud.waitForDeliveries((r) => r.some((x) => x.subject === `objects/${name}` && x.outcome === 'delivered'));
  });

  it('a job nacked maxDeliveryAttempts times reaches the dead-letter route as messagePublished', async () => {
    const jobId = uniqueId('doomed');
    const worker = listen(pubsub.subscription(cloud.names.jobsSubscription), (m) => (m.attributes['jobId'] === jobId ? m.nack() : m.ack()));
    try {
      await pubsub.topic(cloud.names.jobsTopic).publishMessage({ json: { jobId }, attributes: { jobId } });
      const event = await waitFor('dead-letter event', () => events().find((e) => e.type === PUBSUB_PUBLISHED && JSON.stringify(e.data).includes(jobId)), 45_000, 200);
      const data = event.data as { message: { attributes: Record<string, string> }; subscription: string };
      assert.equal(data.message.attributes['CloudPubSubDeadLetterSourceDeliveryCount'], '5');
      assert.equal(data.subscription, `projects/${cloud.projectId}/subscriptions/${cloud.names.deadLetterSubscription}`);
    } finally {
      await worker.close();
    }
    assert.deepEqual(
      worker.received.filter((r) => r.message.attributes['jobId'] === jobId).map((r) => r.message.deliveryAttempt),
      [1, 2, 3, 4, 5],
    );
  });

  it('a separate process configured only by env uses both emulators through the official clients', async () => {
    const name = `uploads/${uniqueId('env')}/original`;
    const completions = listen(pubsub.subscription(cloud.names.completionsSubscription), (m) => m.ack());
    try {
      const { stdout } = await promisify(execFile)(process.execPath, [ENV_CLIENT, name], { env: { PATH: process.env['PATH'] ?? '', ...cloud.env } });
      const { messageId } = JSON.parse(stdout) as { messageId: string };
      await waitFor('completion message', () => (completions.received.some((r) => r.message.id === messageId) ? true : undefined));
      await cloud.waitForDeliveries((r) => r.some((x) => x.subject === `objects/${name}`));
    } finally {
      await completions.close();
    }
  });
});

describe('LocalCloud.stop and restart', () => {
  it('stop() left nothing running, and a restart on the kept data directory reuses the notification config', async () => {
    await cloud.stop(); // idempotent: the suite above already stopped it
    assert.equal(groupAlive(cloud.pubsubPid), false, 'no emulator process left');
    await assert.rejects(fetch(cloud.storageUrl), 'storage emulator closed');
    await assert.rejects(fetch(`http://${cloud.pubsubHost}/`), 'pubsub emulator closed');
    const again = await startLocalCloud({ dataDir });
    try {
      const storage = new Storage({ projectId: again.projectId, apiEndpoint: again.storageUrl });
      const [notifications] = await storage.bucket(again.uploadsBucket).getNotifications();
      assert.equal(notifications.length, 1);
      const [files] = await storage.bucket(again.uploadsBucket).getFiles({ prefix: 'uploads/' });
      assert.ok(files.length >= 3, 'objects from the first run are still there');
    } finally {
      await again.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
