import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JobStatus as JobStatusSchema } from '../../schemas/status.js';
import type { JobStatus } from '../../schemas/status.js';
import { batchJobId } from '../../shared/ids.js';
import {
  compareGenerations,
  forGeneration,
  generationStanding,
  newStatus,
  supersededBy,
  toFailed,
  toNewerSource,
  toProcessing,
  toSucceeded,
} from '../../shared/job/index.js';
import { uploadObjectName } from '../../shared/paths.js';

const JOB = '0123456789abcdef0123456789abcdef';
const T0 = new Date('2026-11-23T10:00:00.000Z');
const T1 = new Date('2026-11-23T10:00:05.000Z');
const G1 = '1764583200000000';
const G2 = '1764583200100000';
const source = (generation: string, width = 640) => ({ bucket: 'uploads', name: uploadObjectName(JOB), generation, contentType: 'image/jpeg' as const, size: 2048, width, height: 480 });
const queued = (generation = G1, width = 640): JobStatus => newStatus({ jobId: JOB, state: 'queued', trigger: 'upload', source: source(generation, width), outputsRequested: ['cutout'], clientRef: 'order-7' }, T0);
const rejected = (generation: string): JobStatus =>
  newStatus({ jobId: JOB, state: 'rejected', trigger: 'upload', source: source(generation), outputsRequested: ['cutout'], error: { code: 'corrupt', message: 'm', retryable: false } }, T1);

describe('job: generations of one upload', () => {
  it('orders generations as 64-bit numbers, not strings', () => {
    assert.equal(compareGenerations('999', '1000'), -1);
    assert.equal(compareGenerations('1764583200100000', '1764583200000000'), 1);
    assert.equal(compareGenerations('9007199254740993', '9007199254740992'), 1, 'beyond 2^53');
    assert.equal(compareGenerations(G1, G1), 0);
    assert.deepEqual([generationStanding(queued(G2), G1), generationStanding(queued(G2), G2), generationStanding(queued(G1), G2)], ['older', 'same', 'newer']);
  });

  it('a newer generation takes over a queued or processing job: its source, queued again, outputs and error dropped', () => {
    const processing = { ...toProcessing(queued(), T0)!, outputs: [{ kind: 'preview' as const, bucket: 'r', name: 'p', contentType: 'image/webp', size: 1, width: 1, height: 1 }] };
    for (const doc of [queued(), processing]) {
      const next = toNewerSource(doc, queued(G2, 800), T1);
      assert.ok(next, doc.state);
      JobStatusSchema.parse(next);
      assert.equal(next.state, 'queued');
      assert.deepEqual(next.source, source(G2, 800));
      assert.equal(next.outputs, undefined, 'a preview of the older bytes is not offered');
      assert.equal(next.attempts, doc.attempts);
      assert.equal(next.clientRef, 'order-7');
      assert.deepEqual(next.transitions.map((t) => t.state), doc.state === 'queued' ? ['queued'] : ['queued', 'processing', 'queued']);
    }
  });

  it('a newer generation that is not an image rejects a running job with its own source and error', () => {
    const next = toNewerSource(toProcessing(queued(), T0)!, rejected(G2), T1);
    assert.equal(next?.state, 'rejected');
    assert.equal(next?.source.generation, G2);
    assert.equal(next?.error?.code, 'corrupt');
  });

  it('refuses an older or equal generation, and any job that has ended', () => {
    assert.equal(toNewerSource(queued(G2), queued(G1), T1), undefined);
    assert.equal(toNewerSource(queued(G1), queued(G1), T1), undefined);
    const ended = [
      toSucceeded(toProcessing(queued(), T0)!, { outputs: [], model: { id: 'm', provider: 'cpu' }, timingsMs: {}, cacheHit: false }, T1)!,
      toFailed(queued(), { code: 'x', message: 'x', retryable: false }, T1)!,
      rejected(G1),
    ];
    for (const doc of ended) assert.equal(toNewerSource(doc, queued(G2), T1), undefined, doc.state);
  });

  it('a move made for one generation is made only while the document names it', () => {
    const claim = (d: JobStatus) => toProcessing(d, T1);
    assert.equal(forGeneration(G1, claim)(queued(G2)), undefined, 'a superseded message claims nothing');
    assert.equal(forGeneration(G2, claim)(queued(G1)), undefined, 'nor does one the ingest function has not adopted yet');
    assert.equal(forGeneration(G1, claim)(queued(G1))?.state, 'processing');
  });

  it('a newer live generation supersedes an upload of the same job, never a batch drop (another job)', () => {
    const upload = { bucket: 'uploads', name: uploadObjectName(JOB), generation: G1 };
    assert.equal(supersededBy(upload, G2, JOB, 'uploads'), true);
    assert.equal(supersededBy(upload, G1, JOB, 'uploads'), false, 'the same generation');
    assert.equal(supersededBy({ ...upload, generation: G2 }, G1, JOB, 'uploads'), false, 'an older live generation');
    assert.equal(supersededBy(upload, G2, 'fedcba9876543210fedcba9876543210', 'uploads'), false, 'another job');
    assert.equal(supersededBy({ ...upload, bucket: 'results' }, G2, JOB, 'uploads'), false, 'another bucket');
    const drop = { bucket: 'uploads', name: 'batch/a/rex.jpg', generation: G1 };
    assert.equal(supersededBy(drop, G2, batchJobId('uploads', drop.name, G1), 'uploads'), false);
  });
});
