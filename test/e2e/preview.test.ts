/**
 * Issue 16 items 4 and 5 end to end through localcloud (real processes, tiny model): while a
 * job is still `processing` its status carries the preview and getStatus signs it, a bounded
 * WebP a shop page can show; the job then succeeds with every output and a quality verdict in
 * the status and the completion event. The worker holds each job once its preview is shown
 * (DEBUG_PREVIEW_HOLD_MS; DEBUG_JOB_DELAY_MS would hold it before the pipeline, so before
 * the preview), so the processing state is seen for certain, not by luck of timing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import type { StatusResponse } from '../../schemas/status.js';
import { getStatus, pollUntilTerminal, uploadLikeABrowser } from '../localcloud/browser.js';
import { Stack } from '../localcloud/stack.js';

const HOLD_MS = 4000;

describe('the preview comes first, through localcloud', { timeout: 300_000 }, () => {
  let stack: Stack;
  before(async () => {
    stack = await Stack.start({ logLevel: 'info', workerEnv: { DEBUG_PREVIEW_HOLD_MS: String(HOLD_MS) } });
    await stack.worker?.waitReady();
  });
  after(() => stack?.stop());

  it('a processing job shows a signed 768-px WebP preview; it then succeeds with all outputs and a quality verdict', async () => {
    const bytes = await sharp('test/fixtures/photos/opencv-baboon.jpg').resize(1600, 1200, { fit: 'fill' }).jpeg().toBuffer();
    const { jobId } = await uploadLikeABrowser(stack.functions.createUpload.url, bytes, 'image/jpeg', { clientRef: 'e2e-preview' });

    let early: StatusResponse | undefined;
    let last: StatusResponse | undefined;
    const deadline = Date.now() + 60_000;
    while (!early && Date.now() < deadline) {
      const s = (last = await getStatus(stack.functions.getStatus.url, jobId));
      assert.notEqual(s?.state, 'succeeded', 'the job ended before its preview was seen in the status');
      if (s?.downloads?.['preview']) early = s;
      else await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(early, `no preview in the status within 60 s (last: ${JSON.stringify(last)}); worker:\n${stack.worker?.output().split('\n').slice(-12).join('\n')}`);
    assert.equal(early.state, 'processing');
    assert.deepEqual(early.outputs?.map((o) => o.kind), ['preview']);
    assert.deepEqual(Object.keys(early.downloads ?? {}), ['preview']);
    const res = await fetch(early.downloads!['preview']!.url);
    assert.equal(res.status, 200);
    const meta = await sharp(Buffer.from(await res.arrayBuffer())).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height, meta.hasAlpha], ['webp', 768, 576, true]);
    assert.deepEqual([early.outputs?.[0]?.width, early.outputs?.[0]?.height], [768, 576]);

    const { event } = await stack.completions.waitFor(jobId, 120_000);
    const done = await pollUntilTerminal(stack.functions.getStatus.url, jobId);
    assert.equal(done.state, 'succeeded');
    assert.deepEqual(done.outputs?.map((o) => o.kind).sort(), ['bw', 'cutout', 'mask', 'preview']);
    assert.deepEqual(done.outputs?.find((o) => o.kind === 'preview'), early.outputs?.[0], 'the preview shown early is the one delivered');
    assert.deepEqual([done.outputs?.find((o) => o.kind === 'cutout')?.width, done.outputs?.find((o) => o.kind === 'cutout')?.height], [1600, 1200]);
    assert.ok(done.quality, 'a succeeded job carries a quality verdict');
    assert.ok(done.quality.score >= 0 && done.quality.score <= 1);
    assert.ok(Array.isArray(done.quality.flags));
    assert.deepEqual(event.data.quality, done.quality);
    const shown = await stack.worker!.waitForLog('job.preview_shown', (l) => l['jobId'] === jobId);
    assert.equal(shown.length, 1);
  });
});
