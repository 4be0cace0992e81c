import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JOB_STATES, type JobStatus, type OutputObject } from '../../schemas/status.js';
import { batchJobId } from '../../shared/ids.js';
import {
  canMove,
  completionDataFor,
  endingWriter,
  jobForObject,
  jobIdOfMessage,
  jobMessageFor,
  newStatus,
  queuedFromMessage,
  readJobMessage,
  reopen,
  toFailed,
  toProcessing,
  toSucceeded,
  wasReopened,
  withPreview,
} from '../../shared/job/index.js';
import { JobStatus as JobStatusSchema, CompletionData } from '../../schemas/index.js';
import { jobIdOfStatusName, jobIdOfUploadName, statusObjectName, uploadObjectName } from '../../shared/paths.js';

const JOB = '0123456789abcdef0123456789abcdef';
const T0 = new Date('2026-11-23T10:00:00.000Z');
const T1 = new Date('2026-11-23T10:00:05.000Z');
const source = { bucket: 'uploads', name: uploadObjectName(JOB), generation: '1764583200000000', md5Hash: 'bWQ1', contentType: 'image/jpeg' as const, size: 2048, width: 640, height: 480 };
const error = { code: 'corrupt', message: 'x', retryable: false };
const preview: OutputObject = { kind: 'preview', bucket: 'results', name: `jobs/${JOB}/preview.webp`, contentType: 'image/webp', size: 900, width: 768, height: 576 };
const cutout: OutputObject = { kind: 'cutout', bucket: 'results', name: `jobs/${JOB}/cutout.png`, contentType: 'image/png', size: 9000, width: 640, height: 480 };
const model = { id: 'm', provider: 'cpu' };

function queued(): JobStatus {
  return newStatus({ jobId: JOB, state: 'queued', trigger: 'upload', source, outputsRequested: ['cutout', 'mask'], clientRef: 'order-7' }, T0);
}

describe('job: states and moves', () => {
  it('lets no ending move except a dead-lettered failure back to queued', () => {
    for (const from of ['succeeded', 'rejected'] as const) for (const to of JOB_STATES) assert.equal(canMove(from, to), false, `${from} -> ${to}`);
    assert.deepEqual(JOB_STATES.filter((to) => canMove('failed', to)), ['queued']);
  });

  it('starts a job only queued, rejected or failed', () => {
    assert.throws(() => newStatus({ ...queued(), state: 'processing' }, T0), /cannot start processing/);
  });

  it('claims (attempts + 1, one history entry per state), then succeeds with rounded timings and no error', () => {
    const first = toProcessing(queued(), T1)!;
    const again = toProcessing(first, T1)!;
    assert.deepEqual([first.attempts, again.attempts], [1, 2]);
    assert.deepEqual(again.transitions.map((t) => t.state), ['queued', 'processing']);
    const done = toSucceeded({ ...again, error }, { outputs: [], model: { id: 'm', provider: 'cpu' }, timingsMs: { infer: 12.345, odd: -1 }, cacheHit: false }, T1)!;
    assert.equal(done.state, 'succeeded');
    assert.equal(done.error, undefined);
    assert.deepEqual(done.timingsMs, { infer: 12.3, odd: 0 });
  });

  it('refuses to move an ended job: every helper answers "no change"', () => {
    const ended = toFailed(queued(), error, T1)!;
    assert.equal(toProcessing(ended, T1), undefined);
    assert.equal(toFailed(ended, { ...error, code: 'dead_lettered' }, T1), undefined);
    assert.equal(toSucceeded(ended, { outputs: [], model: { id: 'm', provider: 'cpu' }, timingsMs: {}, cacheHit: false }, T1), undefined);
  });

  it('keeps the higher attempt count a failing writer reports', () => {
    assert.equal(toFailed({ ...queued(), attempts: 3 }, error, T1, 5)?.attempts, 5);
    assert.equal(toFailed({ ...queued(), attempts: 3 }, error, T1, 1)?.attempts, 3);
  });

  it('reopens only a dead-lettered failure, and recognises it afterwards', () => {
    assert.equal(reopen(toFailed(queued(), error, T1)!, T1), undefined);
    const again = reopen(toFailed(queued(), { ...error, code: 'dead_lettered' }, T1)!, T1)!;
    assert.equal(again.state, 'queued');
    assert.equal(again.error, undefined);
    assert.equal(wasReopened(again), true);
    assert.equal(wasReopened(queued()), false);
  });

  it('names the one writer of each ending', () => {
    assert.equal(endingWriter(queued()), undefined);
    assert.equal(endingWriter({ state: 'rejected', error }), 'functions');
    assert.equal(endingWriter({ state: 'failed', error: { ...error, code: 'dead_lettered' } }), 'functions');
    assert.equal(endingWriter({ state: 'failed', error: { ...error, code: 'invalid_message' } }), 'worker');
    assert.equal(endingWriter({ state: 'succeeded' }), 'worker');
  });
});

describe('job: the preview and the quality verdict', () => {
  it('a processing document carries the preview at once: same state, same attempts, no history entry', () => {
    const claimed = toProcessing(queued(), T0)!;
    const shown = withPreview(claimed, preview, T1)!;
    assert.equal(shown.state, 'processing');
    assert.equal(shown.attempts, claimed.attempts);
    assert.deepEqual(shown.transitions, claimed.transitions);
    assert.deepEqual(shown.outputs, [preview]);
    assert.equal(shown.updatedAt, T1.toISOString());
    JobStatusSchema.parse(shown);
    // Written twice (a redelivery renders it again): still one preview.
    assert.deepEqual(withPreview(shown, { ...preview, size: 901 }, T1)?.outputs?.map((o) => o.size), [901]);
  });

  it('a preview never touches a job that is not processing, and is not a full-size output', () => {
    assert.equal(withPreview(queued(), preview, T1), undefined);
    const done = toSucceeded(toProcessing(queued(), T0)!, { outputs: [cutout], model, timingsMs: {}, cacheHit: false }, T1)!;
    assert.equal(withPreview(done, preview, T1), undefined);
    assert.equal(withPreview(toProcessing(queued(), T0)!, cutout, T1), undefined);
  });

  it('a failure drops a preview written before it: a failed job offers no outputs', () => {
    const failed = toFailed(withPreview(toProcessing(queued(), T0)!, preview, T1)!, error, T1)!;
    assert.equal(failed.outputs, undefined);
    assert.equal(completionDataFor(failed).outputs, undefined);
  });

  it('succeeded carries the quality verdict into the document and the completion event', () => {
    const quality = { score: 0.42, flags: ['uncertain_alpha', 'subject_cut_by_frame'] };
    const done = toSucceeded(withPreview(toProcessing(queued(), T0)!, preview, T1)!, { outputs: [cutout, preview], model, timingsMs: {}, cacheHit: false, quality }, T1)!;
    assert.deepEqual(done.quality, quality);
    assert.notEqual(done.quality?.flags, quality.flags, 'a copy, not the pipeline\'s array');
    JobStatusSchema.parse(done);
    const data = CompletionData.parse(completionDataFor(done));
    assert.deepEqual(data.quality, quality);
    assert.deepEqual(data.outputs?.map((o) => o.kind), ['cutout', 'preview']);
    const without = toSucceeded(toProcessing(queued(), T0)!, { outputs: [cutout], model, timingsMs: {}, cacheHit: true }, T1)!;
    assert.equal('quality' in without, false);
    assert.equal('quality' in completionDataFor(without), false);
  });

  it('the schema refuses a score outside 0-1 and a flag that is not a code', () => {
    const done = toSucceeded(toProcessing(queued(), T0)!, { outputs: [cutout], model, timingsMs: {}, cacheHit: false, quality: { score: 1, flags: [] } }, T1)!;
    assert.equal(JobStatusSchema.safeParse({ ...done, quality: { score: 1.2, flags: [] } }).success, false);
    assert.equal(JobStatusSchema.safeParse({ ...done, quality: { score: 0.5, flags: ['Not A Code'] } }).success, false);
    assert.equal(JobStatusSchema.safeParse(done).success, true);
  });
});

describe('job: conversions', () => {
  it('document -> JobMessage -> document keeps what the worker needs', () => {
    const message = jobMessageFor(queued(), '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    assert.equal(message.trace?.traceparent, '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    const rebuilt = queuedFromMessage(message, T0);
    assert.deepEqual(rebuilt, queued());
  });

  it('reads a JobMessage back, or says why not and which job a broken one names', () => {
    const good = readJobMessage(Buffer.from(JSON.stringify(jobMessageFor(queued()))));
    assert.equal(good.ok && good.message.jobId, JOB);
    const garbage = readJobMessage(Buffer.from('{{'));
    assert.equal(garbage.ok, false);
    assert.match(!garbage.ok ? garbage.reason : '', /^data is not JSON: /);
    assert.equal(!garbage.ok && garbage.jobId, undefined);
    const named = readJobMessage(Buffer.from(JSON.stringify({ jobId: JOB, schemaVersion: 99 })));
    assert.equal(named.ok, false);
    assert.equal(!named.ok && named.jobId, JOB);
    assert.match(!named.ok ? named.reason : '', /^invalid JobMessage: /);
    assert.equal(jobIdOfMessage(Buffer.from('garbage'), { jobId: JOB }), JOB);
    assert.equal(jobIdOfMessage(Buffer.from('garbage'), { jobId: 'nope' }), undefined);
  });

  it('document -> completion data, for endings only', () => {
    assert.throws(() => completionDataFor(queued()), /only terminal states/);
    const data = completionDataFor(toFailed(queued(), error, T1)!);
    assert.deepEqual(data, {
      schemaVersion: 1,
      jobId: JOB,
      outcome: 'failed',
      source: { bucket: 'uploads', name: uploadObjectName(JOB), generation: source.generation },
      outputsRequested: ['cutout', 'mask'],
      error,
      clientRef: 'order-7',
      completedAt: T1.toISOString(),
    });
  });

  it('object names <-> job ids, built and parsed by one module', () => {
    assert.equal(jobIdOfUploadName(uploadObjectName(JOB)), JOB);
    assert.equal(jobIdOfStatusName(statusObjectName(JOB)), JOB);
    for (const name of ['uploads/ABC/original', `uploads/${JOB}/original/x`, `uploads/${JOB}`, `jobs/${JOB}/cutout.png`]) {
      assert.equal(jobIdOfUploadName(name) ?? jobIdOfStatusName(name), undefined, name);
    }
    assert.deepEqual(jobForObject({ bucket: 'uploads', name: uploadObjectName(JOB), generation: '1' }, 'uploads'), { jobId: JOB, trigger: 'upload' });
    assert.deepEqual(jobForObject({ bucket: 'uploads', name: 'batch/a/1.jpg', generation: '7' }, 'uploads'), { jobId: batchJobId('uploads', 'batch/a/1.jpg', '7'), trigger: 'batch' });
    assert.equal(jobForObject({ bucket: 'other', name: uploadObjectName(JOB), generation: '1' }, 'uploads'), undefined);
    assert.equal(jobForObject({ bucket: 'uploads', name: 'batch/a/', generation: '1' }, 'uploads'), undefined);
  });
});
