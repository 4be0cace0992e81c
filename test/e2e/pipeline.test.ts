/**
 * End to end through localcloud with real processes: browser-style uploads, the functions
 * under functions-framework, the worker as a child process on a tiny model.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import sharp from 'sharp';
import type { StatusResponse } from '../../schemas/status.js';
import { statusObjectName } from '../../shared/paths.js';
import { newStatus } from '../../shared/job/index.js';
import { createStatusStore, gcsDocObjects } from '../../shared/status-store.js';
import { pollUntilTerminal, getStatus, uploadLikeABrowser } from '../localcloud/browser.js';
import { JobsTap } from './support/jobs-tap.js';
import { Stack } from '../localcloud/stack.js';

const PHOTOS = new URL('../fixtures/photos/', import.meta.url);
const photo = (name: string): Promise<Buffer> => readFile(new URL(name, PHOTOS));
// A JPEG signature followed by garbage: passes the content-type check, fails decoding.
const CORRUPT_JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00]), Buffer.alloc(2000, 0x5a)]);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An operator's script (scripts/batch.ts, scripts/replay.ts) as they run it, with localcloud's environment. */
function runScript(script: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { env: { PATH: process.env['PATH'] ?? '', METADATA_SERVER_DETECTION: 'none', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
  return new Promise((resolve) => child.once('close', (code) => (clearTimeout(timer), resolve({ code, stdout, stderr }))));
}
const terminalTransitions = (s: StatusResponse) => s.transitions.filter((t) => ['succeeded', 'failed', 'rejected'].includes(t.state));

async function waitForState(stack: Stack, jobId: string, state: string, timeoutMs = 30_000): Promise<StatusResponse> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const s = await getStatus(stack.functions.getStatus.url, jobId).catch(() => undefined);
    if (s?.state === state) return s;
    if (Date.now() > deadline) throw new Error(`job ${jobId} never reached ${state} (last ${s?.state ?? 'none'})`);
    await sleep(50);
  }
}

describe('end to end through localcloud', { timeout: 600_000 }, () => {
  let stack: Stack;
  let tap: JobsTap;

  before(async () => {
    stack = await Stack.start({ startWorker: false, logLevel: 'info', workerEnv: { DEBUG_FAIL_CLIENT_REF: 'always-fail' } });
    tap = await JobsTap.start(stack.pubsub, stack.cloud.names.jobsTopic);
  });
  // A failed assertion must not leave its worker consuming the next test's jobs.
  afterEach(() => stack.stopWorkers());
  after(async () => {
    await tap?.stop();
    await stack?.stop();
  });

  it('a photo uploaded by signed URL produces a completion event and decodable outputs at the original size', async () => {
    const worker = await stack.startWorker({ JOBS_SUBSCRIPTION: await stack.newJobsSubscription() });
    await worker.waitReady();
    const bytes = await photo('skimage-chelsea-cat.png');
    const original = await sharp(bytes).metadata();
    const { jobId } = await uploadLikeABrowser(stack.functions.createUpload.url, bytes, 'image/png', { clientRef: 'e2e-cat' });

    const { event } = await stack.completions.waitFor(jobId);
    assert.equal(event.data.outcome, 'succeeded');
    assert.equal(event.id, `${jobId}:succeeded`);
    assert.equal(event.data.clientRef, 'e2e-cat');
    const status = await pollUntilTerminal(stack.functions.getStatus.url, jobId);
    assert.equal(status.state, 'succeeded');
    assert.deepEqual(status.outputs?.map((o) => o.kind).sort(), ['bw', 'cutout', 'mask', 'preview']);
    for (const output of status.outputs ?? []) {
      const url = status.downloads?.[output.kind]?.url;
      assert.ok(url, `download URL for ${output.kind}`);
      const res = await fetch(url);
      assert.equal(res.status, 200);
      const body = Buffer.from(await res.arrayBuffer());
      assert.equal(body.length, output.size);
      const meta = await sharp(body).metadata();
      if (output.kind === 'preview') {
        assert.ok((meta.width ?? 0) <= 1024);
        continue;
      }
      assert.deepEqual([meta.width, meta.height], [original.width, original.height], output.kind);
      if (output.kind === 'cutout') assert.equal(meta.channels, 4, 'the cutout has alpha');
      assert.deepEqual([output.width, output.height], [original.width, original.height]);
    }
    await worker.stop();
    assert.equal((await worker.waitExit()).code, 0);
  });

  it('the same job message delivered twice gives one set of outputs and one terminal status', async () => {
    const worker = await stack.startWorker({ JOBS_SUBSCRIPTION: await stack.newJobsSubscription() });
    await worker.waitReady();
    const { jobId } = await uploadLikeABrowser(stack.functions.createUpload.url, await photo('tux-dog.png'), 'image/png');
    await stack.completions.waitFor(jobId);
    const before = await pollUntilTerminal(stack.functions.getStatus.url, jobId);
    const results = stack.storage.bucket(stack.cloud.resultsBucket);
    const generations = async () =>
      Promise.all((before.outputs ?? []).map(async (o) => String((await results.file(o.name).getMetadata())[0].generation)));
    const outputGenerations = await generations();
    const [statusMeta] = await results.file(statusObjectName(jobId)).getMetadata();

    const original = tap.forJob(jobId)[0];
    assert.ok(original, 'the ingest function published the job');
    await stack.pubsub.topic(stack.cloud.names.jobsTopic).publishMessage({ data: original.data, attributes: original.attributes });
    // The redelivered copy is acked without work, but its event goes out again (same id).
    const deadline = Date.now() + 30_000;
    while (stack.completions.forJob(jobId).length < 2 && Date.now() < deadline) await sleep(50);
    const events = stack.completions.forJob(jobId);
    assert.equal(events.length, 2);
    assert.deepEqual(new Set(events.map((e) => e.event.id)), new Set([`${jobId}:succeeded`]));

    const afterStatus = await pollUntilTerminal(stack.functions.getStatus.url, jobId);
    assert.equal(terminalTransitions(afterStatus).length, 1);
    assert.equal(afterStatus.attempts, 1);
    assert.deepEqual(await generations(), outputGenerations, 'outputs were not rewritten');
    assert.equal(String((await results.file(statusObjectName(jobId)).getMetadata())[0].generation), String(statusMeta.generation));
    await worker.waitForLog('job.already_terminal', (e) => e['jobId'] === jobId);
    assert.equal(worker.events('job.already_terminal').length, 1);
    await worker.stop();
  });

  it('a worker killed with SIGKILL mid-job is replaced and the job still ends with exactly one terminal status', async () => {
    // The official emulator keeps routing a SIGKILLed client's message to its dead stream for
    // a few ack deadlines (10 s each; seen: deliveryAttempt 3-5 before the new worker gets it),
    // so this subscription allows more attempts than the dead-letter default of 5.
    const subscription = await stack.newJobsSubscription({ maxDeliveryAttempts: 20 });
    const first = await stack.startWorker({ JOBS_SUBSCRIPTION: subscription, DEBUG_JOB_DELAY_MS: '3000' });
    await first.waitReady();
    const { jobId } = await uploadLikeABrowser(stack.functions.createUpload.url, await photo('opencv-squirrel_cls.jpg'), 'image/jpeg');
    await waitForState(stack, jobId, 'processing');
    first.kill('SIGKILL');
    assert.equal((await first.waitExit()).signal, 'SIGKILL');

    const second = await stack.startWorker({ JOBS_SUBSCRIPTION: subscription });
    await second.waitReady();
    // Redelivered once the dead worker's lease (10 s ack deadline) runs out.
    const { event } = await stack.completions.waitFor(jobId, 240_000);
    assert.equal(event.data.outcome, 'succeeded');
    const status = await pollUntilTerminal(stack.functions.getStatus.url, jobId);
    assert.equal(status.state, 'succeeded');
    assert.equal(terminalTransitions(status).length, 1);
    assert.equal(status.attempts, 2);
    assert.equal(stack.completions.forJob(jobId).length, 1);
    await second.stop();
  });

  it('SIGTERM during a job drains it: the job finishes, the worker exits 0', async () => {
    const worker = await stack.startWorker({ JOBS_SUBSCRIPTION: await stack.newJobsSubscription(), DEBUG_JOB_DELAY_MS: '2000' });
    await worker.waitReady();
    const { jobId } = await uploadLikeABrowser(stack.functions.createUpload.url, await photo('scipy-face-raccoon.jpg'), 'image/jpeg');
    await waitForState(stack, jobId, 'processing');
    worker.kill('SIGTERM');
    const exit = await worker.waitExit();
    assert.equal(exit.code, 0);
    const status = await pollUntilTerminal(stack.functions.getStatus.url, jobId, 10_000);
    assert.equal(status.state, 'succeeded');
    assert.equal(status.attempts, 1);
    assert.deepEqual(worker.events('shutdown.drained').map((e) => [e['finished'], e['abandoned']]), [[1, 0]]);
    assert.equal((await stack.completions.waitFor(jobId, 10_000)).event.data.outcome, 'succeeded');
  });

  it('a message that always fails is dead-lettered after the configured attempts and ends failed with an event', async () => {
    const worker = await stack.startWorker({ JOBS_SUBSCRIPTION: await stack.newJobsSubscription() });
    await worker.waitReady();
    const { jobId } = await uploadLikeABrowser(stack.functions.createUpload.url, await photo('opencv-butterfly.jpg'), 'image/jpeg', { clientRef: 'always-fail' });
    const { event } = await stack.completions.waitFor(jobId, 120_000);
    assert.equal(event.data.outcome, 'failed');
    assert.equal(event.id, `${jobId}:failed`);
    const status = await pollUntilTerminal(stack.functions.getStatus.url, jobId);
    assert.equal(status.state, 'failed');
    assert.equal(status.error?.code, 'dead_lettered');
    assert.equal(terminalTransitions(status).length, 1);
    // LOCAL_POLICY: 5 delivery attempts, each a retry in the worker's log.
    assert.equal(worker.events('job.retry').filter((e) => e['jobId'] === jobId).length, 5);
    await worker.stop();
  });

  it('an operator replays a dead-lettered job once the cause is fixed: it succeeds under its own id', async () => {
    // A review subscription of this test's own, so dead letters of earlier tests stay out of it.
    const review = `dead-letter-review-${Date.now().toString(36)}`;
    await stack.pubsub.createSubscription(stack.cloud.names.deadLetterTopic, review, { ackDeadlineSeconds: 30 });
    const jobs = await stack.newJobsSubscription();
    const broken = await stack.startWorker({ JOBS_SUBSCRIPTION: jobs, DEBUG_FAIL_CLIENT_REF: 'fails-until-fixed' });
    await broken.waitReady();
    const { jobId } = await uploadLikeABrowser(stack.functions.createUpload.url, await photo('opencv-butterfly.jpg'), 'image/jpeg', { clientRef: 'fails-until-fixed' });
    assert.equal((await stack.completions.waitFor(jobId, 120_000)).event.data.outcome, 'failed');
    assert.equal((await pollUntilTerminal(stack.functions.getStatus.url, jobId)).error?.code, 'dead_lettered');
    await broken.stop();

    // The fix: a worker without the fault.
    const fixed = await stack.startWorker({ JOBS_SUBSCRIPTION: jobs });
    await fixed.waitReady();
    const r = await runScript('scripts/replay.ts', ['--subscription', review, '--idle', '3'], stack.cloud.env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^${jobId}\treplayed\t`, 'm'));
    assert.match(r.stdout, /replay: 1 replayed, 0 had ended well, 0 left/);

    const status = await waitForState(stack, jobId, 'succeeded', 60_000);
    assert.deepEqual(status.transitions.map((t) => t.state), ['queued', 'processing', 'failed', 'queued', 'processing', 'succeeded']);
    assert.equal(status.clientRef, 'fails-until-fixed');
    assert.ok(status.downloads?.['cutout'], 'the storefront gets its download');
    const deadline = Date.now() + 30_000;
    while (!stack.completions.forJob(jobId).some((e) => e.event.data.outcome === 'succeeded') && Date.now() < deadline) await sleep(50);
    assert.deepEqual(stack.completions.forJob(jobId).map((e) => e.event.id).filter((id, i, all) => all.indexOf(id) === i), [`${jobId}:failed`, `${jobId}:succeeded`]);

    // The dead letter was acked: a second run finds nothing, and replaying the job by id now changes nothing.
    const again = await runScript('scripts/replay.ts', ['--subscription', review, '--idle', '2'], stack.cloud.env);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /replay: 0 replayed, 0 had ended well, 0 left/);
    const byId = await runScript('scripts/replay.ts', [jobId], stack.cloud.env);
    assert.equal(byId.code, 0, byId.stderr);
    assert.match(byId.stdout, /already succeeded/);
    await fixed.stop();
    await stack.pubsub.subscription(review).delete();
  });

  it('the stuck-job sweep publishes again a job whose message went missing, and the job finishes', async () => {
    const worker = await stack.startWorker({ JOBS_SUBSCRIPTION: await stack.newJobsSubscription() });
    await worker.waitReady();
    // A job as if its finalize had created the document 2 h ago and every publish had failed.
    // The original is a batch drop (the worker reads nothing else): its trigger starts a job of
    // its own, under the id derived from its generation, and never touches this one.
    const bytes = await photo('opencv-butterfly.jpg');
    const file = stack.storage.bucket(stack.cloud.uploadsBucket).file(`batch/stuck-sweep/${Date.now()}.jpg`);
    await file.save(bytes, { resumable: false, contentType: 'image/jpeg' });
    const jobId = randomBytes(16).toString('hex');
    const { width, height } = await sharp(bytes).metadata();
    const source = { bucket: stack.cloud.uploadsBucket, name: file.name, generation: String(file.metadata.generation), md5Hash: String(file.metadata.md5Hash), contentType: 'image/jpeg' as const, size: bytes.length, width: width!, height: height! };
    const statuses = createStatusStore(gcsDocObjects(stack.storage.bucket(stack.cloud.resultsBucket)));
    await statuses.create(newStatus({ jobId, state: 'queued', trigger: 'batch', source, outputsRequested: ['cutout', 'mask'] }, new Date(Date.now() - 2 * 3600_000)));

    const r = await runScript('scripts/replay.ts', ['--stuck', '60'], stack.cloud.env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^${jobId}\treplayed\tqueued for 12\\d min`, 'm'));
    assert.match(r.stdout, /replay: 1 replayed/);
    const status = await waitForState(stack, jobId, 'succeeded', 60_000);
    assert.deepEqual(status.outputs?.map((o) => [o.kind, o.width, o.height]), [['cutout', width, height], ['mask', width, height]]);
    await worker.stop();
  });

  it('a rejected upload produces a rejected event and no job', async () => {
    const { jobId } = await uploadLikeABrowser(stack.functions.createUpload.url, CORRUPT_JPEG, 'image/jpeg');
    const { event } = await stack.completions.waitFor(jobId, 30_000);
    assert.equal(event.data.outcome, 'rejected');
    const status = await pollUntilTerminal(stack.functions.getStatus.url, jobId);
    assert.equal(status.state, 'rejected');
    await sleep(500);
    assert.deepEqual(tap.forJob(jobId), []);
  });

  it('push mode: the Pub/Sub push envelope feeds the same job handler', async () => {
    const worker = await stack.startWorker({ WORKER_MODE: 'push', JOBS_SUBSCRIPTION: 'unused-in-push-mode' });
    await worker.waitReady();
    const [push] = await stack.pubsub.createSubscription(stack.cloud.names.jobsTopic, 'jobs-push-e2e', { pushConfig: { pushEndpoint: `${worker.url}/pubsub/push` }, ackDeadlineSeconds: 60 });
    try {
      const { jobId } = await uploadLikeABrowser(stack.functions.createUpload.url, await photo('skimage-coffee.png'), 'image/png');
      const { event } = await stack.completions.waitFor(jobId, 60_000);
      assert.equal(event.data.outcome, 'succeeded');
      await worker.waitForLog('job.succeeded', (e) => e['jobId'] === jobId);
      assert.equal(worker.events('job.succeeded').filter((e) => e['jobId'] === jobId).length, 1);
    } finally {
      await push.delete();
      await worker.stop();
    }
  });
  it('the batch command drops a folder under batch/, follows every job and reports each outcome', async () => {
    const worker = await stack.startWorker({ JOBS_SUBSCRIPTION: await stack.newJobsSubscription() });
    await worker.waitReady();
    const dir = await mkdtemp(join(tmpdir(), 'batch-'));
    await writeFile(join(dir, 'cat.png'), await photo('skimage-chelsea-cat.png'));
    await writeFile(join(dir, 'squirrel.jpg'), await photo('opencv-squirrel_cls.jpg'));
    await writeFile(join(dir, 'broken.jpg'), CORRUPT_JPEG);
    const name = `e2e-${Date.now()}`;
    const r = await runScript('scripts/batch.ts', [dir, '--name', name, '--timeout', '120'], { ...stack.cloud.env, BATCH_POLL_MS: '100' });
    assert.equal(r.code, 1, `${r.stdout}\n${r.stderr}`);
    const rows = new Map(r.stdout.trim().split('\n').slice(0, -1).map((l) => [l.split('\t')[0], l.split('\t')] as const));
    assert.equal(rows.get('cat.png')?.[2], 'succeeded');
    assert.equal(rows.get('squirrel.jpg')?.[2], 'succeeded');
    assert.equal(rows.get('broken.jpg')?.[2], 'rejected');
    assert.match(rows.get('broken.jpg')?.[3] ?? '', /^corrupt: /);
    assert.match(r.stdout, new RegExp(`batch ${name}: 2 succeeded, 1 rejected, 0 failed\n$`));
    // The ids the command printed are the trigger's: the results are where it says.
    const catJob = rows.get('cat.png')?.[1] ?? '';
    const [exists] = await stack.storage.bucket(stack.cloud.env['RESULTS_BUCKET']!).file(`jobs/${catJob}/cutout.png`).exists();
    assert.ok(exists, `no cutout for job ${catJob}`);
  });
});
