import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import type { JobMessage } from '../../../schemas/job.js';
import type { JobStatus } from '../../../schemas/status.js';
import { PermanentError, RetryableError } from '../../../shared/errors.js';
import { queuedFromMessage, toFailed, toSucceeded } from '../../../shared/job/index.js';
import { outputObjectName } from '../../../shared/paths.js';
import type { DebugHooks } from '../../../gpu-worker/service/job-handler.js';
import { NoSubjectError } from '../../../gpu-worker/pipeline/alpha/decide.js';
import { shopperMessage } from '../../../shared/messages.js';
import { JOB_ID, RESULTS, UPLOADS, delivery, jobMessage } from './fakes.js';
import { jobHandlerOverFakes } from './job-handler-harness.js';

const NOW = new Date('2026-11-23T18:00:01.000Z');
const OTHER_JOB = 'fedcba9876543210fedcba9876543210';

function harness(options: { cache?: boolean; hooks?: DebugHooks } = {}) {
  const h = jobHandlerOverFakes(options);
  return {
    ...h,
    /** Uploads an original and queues its job the way the ingest function does. */
    async submit(jobId = JOB_ID, bytes = Buffer.from('photo-bytes'), extra: Partial<JobMessage> = {}): Promise<JobMessage> {
      const generation = h.store.put(UPLOADS, `uploads/${jobId}/original`, bytes, 'image/jpeg');
      const msg = jobMessage({ jobId, generation, ...extra });
      await h.statuses.create(queuedFromMessage(msg, new Date('2026-11-23T18:00:00.000Z')));
      return msg;
    },
  };
}

describe('job handler: one job from message to terminal status', () => {
  it('processes a queued job: outputs under deterministic names, succeeded, event, ack', async () => {
    const h = harness();
    const msg = await h.submit();
    assert.equal(await h.handle(delivery(msg)), 'ack');

    const status = await h.status();
    assert.equal(status?.state, 'succeeded');
    assert.deepEqual(status?.transitions.map((t) => t.state), ['queued', 'processing', 'succeeded']);
    assert.equal(status?.attempts, 1);
    assert.equal(status?.cacheHit, false);
    assert.deepEqual(status?.model, { id: 'fake-model', provider: 'cpu', sha256: 'a'.repeat(64) });
    assert.deepEqual(status?.outputs?.map((o) => [o.kind, o.name, o.width, o.height]), [
      ['cutout', outputObjectName(JOB_ID, 'cutout'), 40, 30],
      ['mask', outputObjectName(JOB_ID, 'mask'), 40, 30],
    ]);
    for (const o of status?.outputs ?? []) assert.equal(h.store.get(RESULTS, o.name)?.data.length, o.size);
    for (const stage of ['download', 'decode', 'infer', 'encode', 'upload', 'total']) assert.ok(stage in (status?.timingsMs ?? {}), stage);

    const [event, ...more] = h.events();
    assert.equal(more.length, 0);
    assert.equal(event?.id, `${JOB_ID}:succeeded`);
    assert.equal(event?.source, '//petcutout/test-worker');
    assert.equal(h.completions.messages[0]?.attributes['ce-type'], 'com.petcutout.job.completed.v1');
    assert.deepEqual(event?.data.outputs, status?.outputs);
    assert.deepEqual(h.metrics.outcomes, ['succeeded']);
  });

  it('handles the same message twice with one set of outputs and one terminal status', async () => {
    const h = harness();
    const msg = await h.submit();
    assert.equal(await h.handle(delivery(msg, 1)), 'ack');
    const writes = h.store.writes.length;
    assert.equal(await h.handle(delivery(msg, 2)), 'ack');

    assert.equal(h.pipeline.calls.length, 1);
    assert.equal(h.store.writes.length, writes, 'no second set of outputs');
    const status = await h.status();
    assert.deepEqual(status?.transitions.map((t) => t.state), ['queued', 'processing', 'succeeded']);
    // The event is published again (the first attempt may have died before publishing), with the same id.
    assert.deepEqual(h.completions.ids(), [`${JOB_ID}:succeeded`, `${JOB_ID}:succeeded`]);
    assert.deepEqual(h.completions.messages[0], h.completions.messages[1]);
    assert.deepEqual(h.metrics.outcomes, ['succeeded', 'skipped']);
  });

  it('a second delivery of a job still running here shares its verdict: one inference, one claim, one event', async () => {
    for (const [outcome, verdict] of [['succeeds', 'ack'], ['fails retryably', 'nack']] as const) {
      const h = harness();
      const msg = await h.submit();
      let open: () => void = () => {};
      h.pipeline.gate = new Promise<void>((r) => (open = r));
      if (outcome === 'fails retryably') h.pipeline.fail = new RetryableError('unavailable', 'storage blinked');
      const first = h.handle(delivery(msg, 1));
      await new Promise((r) => setImmediate(r));
      // A redelivery (the lease ran out) while the first is still in the pipeline.
      const second = h.handle(delivery(msg, 2));
      await new Promise((r) => setImmediate(r));
      open();
      assert.deepEqual(await Promise.all([first, second]), [verdict, verdict], outcome);
      assert.equal(h.pipeline.calls.length, 1, `${outcome}: one inference`);
      const status = await h.status();
      assert.equal(status?.attempts, 1, `${outcome}: claimed once`);
      if (verdict === 'ack') {
        assert.deepEqual(status?.transitions.map((t) => t.state), ['queued', 'processing', 'succeeded']);
        assert.deepEqual(h.completions.ids(), [`${JOB_ID}:succeeded`]);
        assert.deepEqual(h.metrics.outcomes, ['succeeded', 'skipped']);
      } else {
        assert.equal(status?.state, 'processing');
        assert.deepEqual(h.metrics.outcomes, ['retried', 'retried']);
      }
      // Once it has ended, the next delivery is handled on its own again.
      h.pipeline.fail = undefined;
      h.pipeline.gate = undefined;
      assert.equal(await h.handle(delivery(msg, 3)), 'ack');
      assert.equal(h.pipeline.calls.length, verdict === 'ack' ? 1 : 2, `${outcome}: a later delivery runs on its own`);
    }
  });

  it('acks a job already in a terminal state without work', async () => {
    for (const terminal of ['succeeded', 'failed', 'rejected'] as const) {
      const h = harness();
      const msg = await h.submit();
      await h.statuses.update(JOB_ID, (s) => ({ ...s, state: terminal, transitions: [...s.transitions, { state: terminal, at: NOW.toISOString() }] }));
      assert.equal(await h.handle(delivery(msg)), 'ack', terminal);
      assert.equal(h.pipeline.calls.length, 0, terminal);
      // Its event again (the first attempt may have died before publishing), except for an
      // outcome the functions own (rejected at ingest): they send that one themselves.
      assert.deepEqual(h.completions.ids(), terminal === 'rejected' ? [] : [`${JOB_ID}:${terminal}`], terminal);
    }
  });

  const failures: Array<{ name: string; error: Error; verdict: 'ack' | 'nack'; state: string; code?: string; events: string[]; outcome: string }> = [
    { name: 'permanent pipeline error', error: new PermanentError('corrupt', 'JPEG data ends early'), verdict: 'ack', state: 'failed', code: 'corrupt', events: [`${JOB_ID}:failed`], outcome: 'failed' },
    { name: 'permanent model contract error', error: new PermanentError('model_contract', 'bad output shape'), verdict: 'ack', state: 'failed', code: 'model_contract', events: [`${JOB_ID}:failed`], outcome: 'failed' },
    { name: 'retryable pipeline error', error: new RetryableError('unavailable', 'GPU busy'), verdict: 'nack', state: 'processing', events: [], outcome: 'retried' },
    { name: 'unknown error (a bug): retried, then dead-lettered by Pub/Sub', error: new TypeError('x is undefined'), verdict: 'nack', state: 'processing', events: [], outcome: 'retried' },
  ];
  for (const f of failures) {
    it(`${f.name} -> ${f.verdict}, status ${f.state}`, async () => {
      const h = harness();
      const msg = await h.submit();
      h.pipeline.fail = f.error;
      assert.equal(await h.handle(delivery(msg)), f.verdict);
      const status = await h.status();
      assert.equal(status?.state, f.state);
      assert.equal(status?.error?.code, f.code);
      assert.deepEqual(h.completions.ids(), f.events);
      assert.deepEqual(h.metrics.outcomes, [f.outcome]);
      assert.deepEqual(h.store.names(`${RESULTS}/jobs/${JOB_ID}/`).filter((n) => !n.endsWith('status.json')), []);
    });
  }

  it('a retried job that then succeeds counts its attempts and keeps one processing transition', async () => {
    const h = harness();
    const msg = await h.submit();
    h.pipeline.fail = new RetryableError('unavailable', 'blip');
    assert.equal(await h.handle(delivery(msg, 1)), 'nack');
    h.pipeline.fail = undefined;
    assert.equal(await h.handle(delivery(msg, 2)), 'ack');
    const status = await h.status();
    assert.equal(status?.attempts, 2);
    assert.deepEqual(status?.transitions.map((t) => t.state), ['queued', 'processing', 'succeeded']);
  });

  const sourceCases = [
    // A newer PUT of the same upload is not a failure: that generation's message owns the job
    // (job-handler-generations.test.ts); a batch drop replaced is, there.
    { name: 'deleted after the job was created', change: (h: ReturnType<typeof harness>) => h.store.delete(UPLOADS, `uploads/${JOB_ID}/original`), code: 'source_missing' },
  ];
  for (const c of sourceCases) {
    it(`original ${c.name} -> failed ${c.code}`, async () => {
      const h = harness();
      const msg = await h.submit();
      c.change(h);
      assert.equal(await h.handle(delivery(msg)), 'ack');
      const status = await h.status();
      assert.equal(status?.state, 'failed');
      assert.equal(status?.error?.code, c.code);
      assert.equal(status?.error?.retryable, false);
      assert.equal(h.pipeline.calls.length, 0);
      assert.equal(h.events()[0]?.data.error?.code, c.code);
    });
  }

  const unparseable = [
    { name: 'not JSON', body: 'not json {' },
    { name: 'JSON but not a JobMessage', body: { hello: 'world' } },
    { name: 'wrong schema version', body: { ...jobMessage({ generation: '1' }), schemaVersion: 2 } },
  ];
  for (const u of unparseable) {
    it(`unparseable message (${u.name}) -> dead-lettered by us and acked`, async () => {
      const h = harness();
      assert.equal(await h.handle(delivery(u.body)), 'ack');
      assert.equal(h.deadLetters.messages.length, 1);
      assert.equal(h.deadLetters.messages[0]?.attributes['petcutout-dead-letter-reason'], 'invalid_message');
      assert.equal(h.deadLetters.messages[0]?.data.toString(), delivery(u.body).data.toString());
      assert.equal(h.pipeline.calls.length, 0);
      assert.deepEqual(h.metrics.outcomes, ['invalid']);
    });
  }

  it('an invalid message naming an existing job fails that job so it never stays queued', async () => {
    const h = harness();
    const msg = await h.submit();
    assert.equal(await h.handle(delivery({ ...msg, outputs: ['sparkles'] })), 'ack');
    const status = await h.status();
    assert.equal(status?.state, 'failed');
    assert.equal(status?.error?.code, 'invalid_message');
    assert.deepEqual(h.completions.ids(), [`${JOB_ID}:failed`]);
  });

  it('nacks an unparseable message when the dead-letter topic cannot take it', async () => {
    const h = harness();
    h.deadLetters.fail = new RetryableError('unavailable', 'pubsub down');
    assert.equal(await h.handle(delivery('garbage')), 'nack');
  });

  it('reuses cached outputs for identical bytes, model and outputs', async () => {
    const h = harness();
    const bytes = Buffer.from('same photo');
    await h.handle(delivery(await h.submit(JOB_ID, bytes)));
    const second = await h.submit(OTHER_JOB, bytes, { outputs: ['mask', 'cutout'] });
    assert.equal(await h.handle(delivery(second)), 'ack');

    assert.equal(h.pipeline.calls.length, 1, 'inferred once');
    const status = await h.status(OTHER_JOB);
    assert.equal(status?.state, 'succeeded');
    assert.equal(status?.cacheHit, true);
    assert.deepEqual(h.metrics.cache, [false, true]);
    for (const kind of ['cutout', 'mask'] as const) {
      assert.deepEqual(h.store.get(RESULTS, outputObjectName(OTHER_JOB, kind))?.data, h.store.get(RESULTS, outputObjectName(JOB_ID, kind))?.data);
    }
  });

  it('looks the cache up by the md5 in the message, alongside the claim and the download', async () => {
    const h = harness();
    const bytes = Buffer.from('same photo');
    const md5Hash = createHash('md5').update(bytes).digest('base64');
    const first = await h.submit(JOB_ID, bytes);
    await h.handle(delivery({ ...first, source: { ...first.source, md5Hash } }));
    const second = await h.submit(OTHER_JOB, bytes);
    assert.equal(await h.handle(delivery({ ...second, source: { ...second.source, md5Hash } })), 'ack');
    assert.equal(h.pipeline.calls.length, 1, 'inferred once');
    assert.equal((await h.status(OTHER_JOB))?.cacheHit, true);
    assert.deepEqual(h.metrics.cache, [false, true]);
  });

  it('acks an already finished job without work even when its original is gone since', async () => {
    const h = harness();
    const msg = await h.submit();
    assert.equal(await h.handle(delivery(msg, 1)), 'ack');
    h.store.delete(UPLOADS, msg.source.name);
    // The download starts with the claim; its failure must not matter for a finished job.
    assert.equal(await h.handle(delivery(msg, 2)), 'ack');
    assert.deepEqual(h.metrics.outcomes, ['succeeded', 'skipped']);
    assert.deepEqual(h.completions.ids(), [`${JOB_ID}:succeeded`, `${JOB_ID}:succeeded`]);
  });

  const cacheMisses = [
    { name: 'different bytes', bytes: Buffer.from('another photo'), outputs: ['cutout', 'mask'] as const },
    { name: 'an output the entry lacks', bytes: Buffer.from('same photo'), outputs: ['cutout', 'bw'] as const },
  ];
  for (const m of cacheMisses) {
    it(`cache miss on ${m.name}`, async () => {
      const h = harness();
      await h.handle(delivery(await h.submit(JOB_ID, Buffer.from('same photo'))));
      await h.handle(delivery(await h.submit(OTHER_JOB, m.bytes, { outputs: [...m.outputs] })));
      assert.equal(h.pipeline.calls.length, 2);
      assert.equal((await h.status(OTHER_JOB))?.cacheHit, false);
    });
  }

  it('a cache entry whose outputs are partly gone (lifecycle deletes them one by one) is a miss, not a failed job', async () => {
    const h = harness();
    const bytes = Buffer.from('same photo');
    await h.handle(delivery(await h.submit(JOB_ID, bytes)));
    const cached = h.store.names(`${RESULTS}/cache/`).filter((n) => !n.endsWith('manifest.json'));
    assert.equal(cached.length, 2, `entry files: ${cached.join(', ')}`);
    h.store.delete(RESULTS, cached[0]!.slice(RESULTS.length + 1));
    assert.equal(await h.handle(delivery(await h.submit(OTHER_JOB, bytes))), 'ack');
    const status = await h.status(OTHER_JOB);
    assert.equal(status?.state, 'succeeded');
    assert.equal(status?.cacheHit, false);
    assert.equal(h.pipeline.calls.length, 2, 'rendered afresh');
    assert.deepEqual(h.metrics.cache, [false, false]);
  });

  it('outputs rendered another way (a new rendering version, refinement switched) are not reused', async () => {
    const h = harness();
    const bytes = Buffer.from('same photo');
    await h.handle(delivery(await h.submit(JOB_ID, bytes)));
    h.pipeline.model.rendering = 'render-test+refine';
    await h.handle(delivery(await h.submit(OTHER_JOB, bytes)));
    assert.equal(h.pipeline.calls.length, 2);
    assert.equal((await h.status(OTHER_JOB))?.cacheHit, false);
  });

  it('does not touch the cache when it is switched off', async () => {
    const h = harness({ cache: false });
    const bytes = Buffer.from('same photo');
    await h.handle(delivery(await h.submit(JOB_ID, bytes)));
    await h.handle(delivery(await h.submit(OTHER_JOB, bytes)));
    assert.equal(h.pipeline.calls.length, 2);
    assert.deepEqual(h.store.names(`${RESULTS}/cache/`), []);
  });

  it('nacks while the model is not loaded, leaving the job queued', async () => {
    const h = harness();
    const msg = await h.submit();
    h.model.loaded = undefined;
    assert.equal(await h.handle(delivery(msg)), 'nack');
    assert.equal((await h.status())?.state, 'queued');
  });

  it('rebuilds a missing status document from the message', async () => {
    const h = harness();
    const generation = h.store.put(UPLOADS, `uploads/${JOB_ID}/original`, Buffer.from('x'));
    assert.equal(await h.handle(delivery(jobMessage({ generation }))), 'ack');
    assert.deepEqual((await h.status())?.transitions.map((t) => t.state), ['queued', 'processing', 'succeeded']);
  });

  it('nacks when the completion event cannot be published, and publishes it on redelivery', async () => {
    const h = harness();
    const msg = await h.submit();
    h.completions.fail = new RetryableError('unavailable', 'pubsub down');
    assert.equal(await h.handle(delivery(msg, 1)), 'nack');
    assert.equal((await h.status())?.state, 'succeeded');
    h.completions.fail = undefined;
    assert.equal(await h.handle(delivery(msg, 2)), 'ack');
    assert.deepEqual(h.completions.ids(), [`${JOB_ID}:succeeded`]);
    assert.equal(h.pipeline.calls.length, 1);
  });

  it("passes the job's trace on to its completion event (ce-traceparent), for success and failure alike", async () => {
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const h = harness();
    await h.handle(delivery(await h.submit(JOB_ID, Buffer.from('a'), { trace: { traceparent } })));
    h.pipeline.fail = new PermanentError('corrupt', 'JPEG data ends early');
    await h.handle(delivery(await h.submit(OTHER_JOB, Buffer.from('b'), { trace: { traceparent } })));
    assert.deepEqual(h.completions.messages.map((m) => [m.attributes['ce-id'], m.attributes['ce-traceparent']]), [
      [`${JOB_ID}:succeeded`, traceparent],
      [`${OTHER_JOB}:failed`, traceparent],
    ]);
  });

  it('a straggler delivery of a job onDeadLetter failed is acked without an event of the worker\'s (same id, other source)', async () => {
    const h = harness();
    const msg = await h.submit();
    await h.statuses.update(JOB_ID, (s) => toFailed(s, { code: 'dead_lettered', message: 'dead-lettered', retryable: false }, NOW));
    assert.equal(await h.handle(delivery(msg, 6)), 'ack');
    assert.deepEqual(h.completions.ids(), []);
    assert.equal(h.pipeline.calls.length, 0);
    assert.equal((await h.status())?.state, 'failed');
  });

  it('does not overwrite a terminal state written by someone else mid-job', async () => {
    const h = harness();
    const msg = await h.submit();
    let release: () => void = () => {};
    h.pipeline.gate = new Promise<void>((r) => (release = r));
    const pending = h.handle(delivery(msg));
    await new Promise((r) => setImmediate(r));
    // The dead-letter handler (or a second worker) finished the job first.
    await h.statuses.update(JOB_ID, (s) => toSucceeded(s, { outputs: [], model: { id: 'other', provider: 'cpu' }, timingsMs: {}, cacheHit: false }, NOW));
    release();
    assert.equal(await pending, 'ack');
    assert.equal((await h.status())?.model?.id, 'other');
    assert.deepEqual(h.metrics.outcomes, ['skipped']);
  });

  it('debug hooks: a delay before the work and a clientRef that always fails', async () => {
    const slept: number[] = [];
    const h = harness({ hooks: { delayMs: 1500, failClientRef: 'always-fail', sleep: async (ms) => void slept.push(ms) } });
    assert.equal(await h.handle(delivery(await h.submit(JOB_ID, Buffer.from('a'), { clientRef: 'always-fail' }))), 'nack');
    assert.equal(await h.handle(delivery(await h.submit(OTHER_JOB, Buffer.from('b')))), 'ack');
    assert.deepEqual(slept, [1500, 1500]);
  });
});

describe('job handler: the early preview and the quality verdict', () => {
  it('the preview is in the status while the job is still processing, written once, and kept among the succeeded outputs', async () => {
    const h = harness({ cache: false });
    const msg = await h.submit(JOB_ID, Buffer.from('photo'), { outputs: ['cutout', 'preview', 'mask'] });
    let finish: () => void = () => {};
    h.pipeline.afterPreview = new Promise<void>((r) => (finish = r));
    const verdict = h.handle(delivery(msg));
    // The pipeline is still "encoding" the full-size outputs: the status already shows the preview.
    let early: JobStatus | undefined;
    for (let i = 0; i < 100 && !early?.outputs; i++) {
      await new Promise((r) => setImmediate(r));
      early = await h.status();
    }
    assert.equal(early?.state, 'processing');
    assert.deepEqual(early?.transitions.map((t) => t.state), ['queued', 'processing']);
    assert.equal(early?.attempts, 1);
    assert.deepEqual(early?.outputs?.map((o) => [o.kind, o.name, o.contentType]), [['preview', outputObjectName(JOB_ID, 'preview'), 'image/webp']]);
    assert.deepEqual(h.store.writes.filter((w) => !w.endsWith('status.json')), [`${RESULTS}/${outputObjectName(JOB_ID, 'preview')}`], 'only the preview so far');
    assert.deepEqual(h.events(), [], 'no event before the end');
    finish();
    assert.equal(await verdict, 'ack');
    const done = await h.status();
    assert.equal(done?.state, 'succeeded');
    assert.deepEqual(done?.outputs?.map((o) => o.kind), ['cutout', 'preview', 'mask'], 'in the order asked for');
    assert.deepEqual(done?.outputs?.find((o) => o.kind === 'preview'), early?.outputs?.[0]);
    assert.equal(h.store.writes.filter((w) => w.endsWith('preview.webp')).length, 1, 'the preview is written once');
    assert.equal(typeof done?.timingsMs?.['preview_shown'], 'number');
    assert.deepEqual(h.events()[0]?.data.outputs, done?.outputs);
  });

  it('a job that asks for no preview gets no early write', async () => {
    const h = harness({ cache: false });
    await h.handle(delivery(await h.submit()));
    assert.equal(h.pipeline.calls[0]?.onPreview, undefined);
    assert.deepEqual((await h.status())?.outputs?.map((o) => o.kind), ['cutout', 'mask']);
  });

  it('the succeeded status and its event carry the quality verdict; a cache hit carries the entry\'s verdict', async () => {
    const h = harness();
    h.pipeline.quality = { score: 0.35, flags: ['uncertain_alpha', 'subject_cut_by_frame'] };
    const bytes = Buffer.from('raccoon in leaves');
    await h.handle(delivery(await h.submit(JOB_ID, bytes)));
    const status = await h.status();
    assert.deepEqual(status?.quality, { score: 0.35, flags: ['uncertain_alpha', 'subject_cut_by_frame'] });
    assert.deepEqual(h.events()[0]?.data.quality, status?.quality);
    await h.handle(delivery(await h.submit(OTHER_JOB, bytes)));
    const hit = await h.status(OTHER_JOB);
    assert.equal(hit?.cacheHit, true);
    assert.equal(h.pipeline.calls.length, 1);
    assert.deepEqual(hit?.quality, status?.quality);
    assert.deepEqual(h.events()[1]?.data.quality, status?.quality);
  });

  it('a photo without a subject ends failed with code no_subject and the shopper\'s sentence', async () => {
    const h = harness();
    h.pipeline.fail = new NoSubjectError('subject area 0 of 64x64 map pixels');
    assert.equal(await h.handle(delivery(await h.submit())), 'ack');
    const status = await h.status();
    assert.equal(status?.state, 'failed');
    assert.equal(status?.error?.code, 'no_subject');
    assert.equal(status?.error?.retryable, false);
    assert.equal(status?.error?.message, shopperMessage('no_subject'));
    assert.match(status?.error?.message ?? '', /pet/);
    assert.match(status?.error?.detail ?? '', /subject area 0 of 64x64/);
    assert.equal(status?.outputs, undefined);
    assert.deepEqual(h.events()[0]?.data.error, status?.error);
    assert.deepEqual(h.metrics.outcomes, ['failed']);
  });

  it('debug hook: a job is held once its preview is shown', async () => {
    const slept: number[] = [];
    const h = harness({ cache: false, hooks: { previewHoldMs: 700, sleep: async (ms) => void slept.push(ms) } });
    assert.equal(await h.handle(delivery(await h.submit(JOB_ID, Buffer.from('a'), { outputs: ['preview'] }))), 'ack');
    assert.deepEqual(slept, [700]);
    assert.deepEqual((await h.status())?.outputs?.map((o) => o.kind), ['preview']);
  });
});
