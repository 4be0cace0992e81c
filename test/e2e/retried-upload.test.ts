/**
 * End to end through localcloud (issue 17 items 1 and 5): a browser that PUTs the same
 * signed URL more than once, and a job message naming an object that ingest never wrote.
 * Real processes: the functions under functions-framework, the worker on a tiny model.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { UploadTicket } from '../../schemas/upload.js';
import { encodeJobMessage, jobMessageFor, newStatus } from '../../shared/job/index.js';
import { shopperMessage } from '../../shared/messages.js';
import { createStatusStore, gcsDocObjects } from '../../shared/status-store.js';
import { pollUntilTerminal } from '../localcloud/browser.js';
import { Stack } from '../localcloud/stack.js';
import type { WorkerProcess } from '../localcloud/worker-process.js';

const PHOTOS = new URL('../fixtures/photos/', import.meta.url);
const photo = (name: string): Promise<Buffer> => readFile(new URL(name, PHOTOS));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TERMINAL = ['succeeded', 'failed', 'rejected'];

/** A ticket for a PNG of at most `maxBytes`: every PUT below fits its signed length range. */
async function ticketFor(createUploadUrl: string, maxBytes: number): Promise<UploadTicket> {
  const res = await fetch(new URL('uploads', createUploadUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ contentType: 'image/png', contentLength: maxBytes, outputs: ['cutout', 'mask'] }),
  });
  assert.equal(res.status, 201, await res.clone().text());
  return UploadTicket.parse(await res.json());
}

describe('retried uploads and foreign sources, end to end', { timeout: 600_000 }, () => {
  let stack: Stack;
  let worker: WorkerProcess;

  before(async () => {
    stack = await Stack.start({ startWorker: false });
    // Each job is held 400 ms once it is `processing`, as a real model's inference would: a
    // later PUT's event then finds the job running on the earlier generation, the case where
    // outputs of the wrong bytes could be written.
    worker = await stack.startWorker({ JOBS_SUBSCRIPTION: await stack.newJobsSubscription(), DEBUG_JOB_DELAY_MS: '400' });
    await worker.waitReady();
  });
  after(async () => {
    await stack?.stop();
  });

  // Visibly different photos: the outputs' size says whose bytes they were made from.
  const SETS = { 2: ['tux-dingo.png', 'tux-dog.png'], 3: ['tux-dingo.png', 'tux-rabbit.png', 'tux-dog.png'] } as const;
  for (const puts of [2, 3] as const) {
    for (const gapMs of [0, 20, 100]) {
      it(`${puts} PUTs of one signed URL ${gapMs} ms apart: one ending, succeeded, from the last PUT's bytes, one event`, async () => {
        const bodies = await Promise.all(SETS[puts].map(photo));
        const ticket = await ticketFor(stack.functions.createUpload.url, Math.max(...bodies.map((b) => b.length)));
        for (const [i, body] of bodies.entries()) {
          if (i > 0 && gapMs > 0) await sleep(gapMs);
          const put = await fetch(ticket.upload.url, { method: 'PUT', headers: ticket.upload.headers, body });
          assert.ok(put.ok, `PUT ${i + 1} answered ${put.status}`);
        }
        const jobId = ticket.jobId;
        const [live] = await stack.storage.bucket(stack.cloud.uploadsBucket).file(`uploads/${jobId}/original`).getMetadata();
        const last = await sharp(bodies[bodies.length - 1]).metadata();

        const status = await pollUntilTerminal(stack.functions.getStatus.url, jobId, 60_000, 50);
        assert.equal(status.state, 'succeeded', JSON.stringify(status.error));
        assert.equal(status.source.generation, String(live.generation), 'the job follows the last generation');
        assert.deepEqual([status.source.width, status.source.height], [last.width, last.height]);
        for (const kind of ['cutout', 'mask'] as const) {
          const url = status.downloads?.[kind]?.url;
          assert.ok(url, kind);
          const meta = await sharp(Buffer.from(await (await fetch(url)).arrayBuffer())).metadata();
          assert.deepEqual([meta.width, meta.height], [last.width, last.height], `${kind} is made from the last PUT's bytes`);
        }
        assert.equal(status.transitions.filter((t) => TERMINAL.includes(t.state)).length, 1, 'one ending');

        // Stragglers (a superseded message finishing late) would show up within this time.
        await sleep(1500);
        const events = stack.completions.forJob(jobId);
        assert.deepEqual(events.map((e) => e.event.id), [`${jobId}:succeeded`], 'exactly one completion event');
        const after = await pollUntilTerminal(stack.functions.getStatus.url, jobId, 5_000);
        assert.equal(after.state, 'succeeded');
        assert.equal(after.updatedAt, status.updatedAt, 'nothing wrote the document after its ending');
      });
    }
  }

  it('a job message naming an object of the results bucket ends failed with invalid_message, logged with its source', async () => {
    const results = stack.storage.bucket(stack.cloud.resultsBucket);
    const bytes = await photo('tux-ferret.png');
    const planted = results.file(`jobs/${randomBytes(16).toString('hex')}/cutout.png`);
    await planted.save(bytes, { resumable: false, contentType: 'image/png' });
    const jobId = randomBytes(16).toString('hex');
    const { width, height } = await sharp(bytes).metadata();
    const source = { bucket: stack.cloud.resultsBucket, name: planted.name, generation: String(planted.metadata.generation), contentType: 'image/png' as const, size: bytes.length, width: width!, height: height! };
    // A document as if a job existed, so the failure has somewhere to be recorded.
    const doc = newStatus({ jobId, state: 'queued', trigger: 'upload', source, outputsRequested: ['cutout'] }, new Date());
    await createStatusStore(gcsDocObjects(results)).create(doc);
    const { data, attributes } = encodeJobMessage(jobMessageFor(doc));
    await stack.pubsub.topic(stack.cloud.names.jobsTopic).publishMessage({ data, attributes });

    const { event } = await stack.completions.waitFor(jobId, 30_000);
    assert.equal(event.data.outcome, 'failed');
    assert.equal(event.data.error?.code, 'invalid_message');
    assert.equal(event.data.error?.message, shopperMessage('invalid_message'));
    assert.match(event.data.error?.detail ?? '', new RegExp(`gs://${stack.cloud.resultsBucket}/${planted.name}`));
    const [line] = await worker.waitForLog('message.foreign_source', (l) => l['jobId'] === jobId);
    assert.equal(line?.['source'], `gs://${stack.cloud.resultsBucket}/${planted.name}#${source.generation}`);
    assert.equal(worker.events('job.processing').filter((l) => l['jobId'] === jobId).length, 0, 'never claimed, never read');
    const [exists] = await results.file(`jobs/${jobId}/cutout.png`).exists();
    assert.equal(exists, false, 'no outputs');
  });
});
