import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { classify } from '../../../shared/errors.js';
import { startPipelineThread } from '../../../gpu-worker/service/pipeline-thread.js';

const ENTRY = new URL('./fixtures/pipeline-thread-entry.ts', import.meta.url);

describe('pipeline thread: the pipeline off the main thread', () => {
  it('loads, processes (outputs come back as Buffers), warms up and closes', async () => {
    const crashes: Error[] = [];
    const p = await startPipelineThread({ entry: ENTRY, config: {}, onCrash: (e) => crashes.push(e) });
    try {
      assert.deepEqual(p.model, { id: 'fake-model', provider: 'cpu', sha256: 'a'.repeat(64), rendering: 'render-test' }, 'the whole descriptor crosses the thread, rendering (a cache key part) included');
      const bytes = Buffer.from('photo');
      const r = await p.process({ jobId: 'j1', bytes, outputs: ['cutout', 'mask'] });
      assert.deepEqual(r.outputs.map((o) => o.kind), ['cutout', 'mask']);
      assert.ok(Buffer.isBuffer(r.outputs[0]?.data));
      assert.deepEqual(r.outputs[0]?.data, Buffer.concat([Buffer.from('cutout:'), createHash('sha1').update(bytes).digest()]));
      assert.deepEqual(r.timingsMs, { decode: 1, infer: 2, encode: 3 });
      await p.warmup();
    } finally {
      await p.close();
    }
    assert.deepEqual(crashes, [], 'a requested close is not a crash');
  });

  it('the preview crosses the thread ahead of the reply, and is in the result too', async () => {
    const p = await startPipelineThread({ entry: ENTRY, config: {}, onCrash: () => undefined });
    try {
      const seen: string[] = [];
      const r = await p.process({
        jobId: 'j1',
        bytes: Buffer.from('photo'),
        outputs: ['cutout', 'preview'],
        onPreview: (preview) => {
          assert.ok(Buffer.isBuffer(preview.data));
          seen.push(`${preview.kind}:${preview.data.length}`);
        },
      });
      seen.push('result');
      const inResult = r.outputs.find((o) => o.kind === 'preview');
      assert.deepEqual(seen, [`preview:${inResult?.data.length}`, 'result']);
      assert.ok(Buffer.isBuffer(inResult?.data), 'the copy sent early leaves the reply\'s bytes intact');
      assert.deepEqual(r.quality, { score: 0.9, flags: [] });
    } finally {
      await p.close();
    }
  });

  it('a permanent error keeps its code and stays permanent across the thread', async () => {
    const p = await startPipelineThread({ entry: ENTRY, config: {}, onCrash: () => undefined });
    try {
      const err = await p.process({ jobId: 'corrupt', bytes: Buffer.from('x'), outputs: ['mask'] }).catch((e: unknown) => e);
      assert.deepEqual(classify(err), { code: 'corrupt', retryable: false, message: 'JPEG data ends early' });
    } finally {
      await p.close();
    }
  });

  it('a failed load rejects with the load error\'s code (so fatal stays fatal)', async () => {
    const err = await startPipelineThread({ entry: ENTRY, config: { loadError: 'checksum mismatch' }, onCrash: () => undefined }).catch((e: unknown) => e);
    assert.deepEqual(classify(err), { code: 'model_checksum', retryable: false, message: 'checksum mismatch' });
  });

  it('a dead thread fails its jobs retryably and reports the crash', async () => {
    const crashes: Error[] = [];
    const p = await startPipelineThread({ entry: ENTRY, config: {}, onCrash: (e) => crashes.push(e) });
    const err = await p.process({ jobId: 'crash', bytes: Buffer.from('x'), outputs: ['mask'] }).catch((e: unknown) => e);
    assert.equal(classify(err).retryable, true);
    assert.match(crashes[0]?.message ?? '', /exited with code 3/);
    assert.equal(classify(await p.process({ jobId: 'j2', bytes: Buffer.from('x'), outputs: ['mask'] }).catch((e: unknown) => e)).code, 'model_not_ready');
    await p.close();
  });
});
