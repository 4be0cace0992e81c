import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Dispatcher } from '../../../gpu-worker/service/dispatcher.js';
import { createHttpApp } from '../../../gpu-worker/service/http.js';
import { WorkerMetrics } from '../../../gpu-worker/service/metrics.js';
import type { Delivery, Verdict } from '../../../gpu-worker/service/ports.js';
import { createPushHandler } from '../../../gpu-worker/service/push.js';
import { Readiness } from '../../../gpu-worker/service/readiness.js';
import { silentLogger } from './fakes.js';

const MODEL = { id: 'isnet-general-1024', provider: 'cpu' };

describe('worker HTTP surface', () => {
  const readiness = new Readiness();
  const metrics = new WorkerMetrics({ defaultMetrics: false });
  const received: Delivery[] = [];
  let verdict: Verdict = 'ack';
  const dispatcher = new Dispatcher(async (d) => {
    received.push(d);
    return verdict;
  });
  let warmups = 0;
  let server: Server;
  let base = '';

  before(async () => {
    const app = createHttpApp({
      readiness,
      registry: metrics.registry,
      warmup: async () => void warmups++,
      push: createPushHandler({ dispatcher, readiness, log: silentLogger() }),
    });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  const push = (body: unknown) => fetch(`${base}/pubsub/push`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const envelope = (data: unknown, extra: Record<string, unknown> = {}) => ({
    message: { data: Buffer.from(JSON.stringify(data)).toString('base64'), attributes: { a: 'b' }, messageId: '42', publishTime: '2026-11-23T18:00:00Z' },
    subscription: 'projects/p/subscriptions/jobs-worker',
    ...extra,
  });

  it('before the model is ready: /healthz 200, /readyz 503 with Retry-After and the reason, push and warmup 503', async () => {
    readiness.failed('model load failed (unavailable): gs:// answered 503');
    const health = await fetch(`${base}/healthz`);
    assert.equal(health.status, 200);
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 503);
    assert.equal(ready.headers.get('retry-after'), '5');
    assert.deepEqual(await ready.json(), { status: 'failed', reason: 'model load failed (unavailable): gs:// answered 503' });
    readiness.loading();
    assert.deepEqual(await (await fetch(`${base}/readyz`)).json(), { status: 'loading' });
    const p = await push(envelope({}));
    assert.equal(p.status, 503);
    assert.equal(received.length, 0);
    assert.equal((await fetch(`${base}/warmup`)).status, 503);
  });

  it('once warmed: /readyz 200 with model id and provider; /warmup runs the pipeline', async () => {
    readiness.ready(MODEL);
    const ready = await fetch(`${base}/readyz`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready', model: MODEL.id, provider: MODEL.provider, warm: true });
    const w = await fetch(`${base}/warmup`, { method: 'POST' });
    assert.equal(w.status, 200);
    assert.equal(warmups, 1);
  });

  const pushCases: Array<{ name: string; body: unknown; verdict?: Verdict; status: number; delivered?: Partial<Delivery> }> = [
    { name: 'valid envelope, job acked', body: envelope({ x: 1 }, { deliveryAttempt: 3 }), status: 204, delivered: { messageId: '42', deliveryAttempt: 3, attributes: { a: 'b' } } },
    { name: 'snake_case message_id', body: { message: { data: '', message_id: '7' }, subscription: 's/x' }, status: 204, delivered: { messageId: '7', deliveryAttempt: 0 } },
    { name: 'valid envelope, job nacked', body: envelope({ x: 1 }), verdict: 'nack', status: 503 },
    { name: 'not an envelope', body: { hello: 'world' }, status: 400 },
    { name: 'data not base64', body: { message: { data: '%%%', messageId: '1' }, subscription: 's' }, status: 400 },
    { name: 'no message id', body: { message: { data: '' }, subscription: 's' }, status: 400 },
  ];
  for (const c of pushCases) {
    it(`push: ${c.name} -> ${c.status}`, async () => {
      readiness.ready(MODEL);
      received.length = 0;
      verdict = c.verdict ?? 'ack';
      const res = await push(c.body);
      assert.equal(res.status, c.status);
      if (c.delivered) {
        assert.equal(received.length, 1);
        for (const [k, v] of Object.entries(c.delivered)) assert.deepEqual(received[0]?.[k as keyof Delivery], v, k);
      }
      if (c.status === 400) assert.equal(received.length, 0);
    });
  }

  it('push decodes the data the job handler sees', async () => {
    received.length = 0;
    verdict = 'ack';
    await push(envelope({ jobId: 'abc' }));
    assert.deepEqual(JSON.parse(received[0]?.data.toString() ?? ''), { jobId: 'abc' });
  });

  it('/metrics serves the Prometheus text format', async () => {
    metrics.jobFinished('succeeded');
    metrics.stageDuration('infer', 120);
    metrics.cacheLookup(true);
    metrics.batchSize(3);
    metrics.modelLoaded(1.25, MODEL.id, MODEL.provider);
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const text = await res.text();
    for (const line of [
      'petcutout_worker_jobs_total{outcome="succeeded"} 1',
      'petcutout_worker_stage_duration_seconds_count{stage="infer"} 1',
      'petcutout_worker_cache_lookups_total{result="hit"} 1',
      'petcutout_worker_batch_size_sum 3',
      'petcutout_worker_model_load_seconds 1.25',
      'petcutout_worker_model_info{model="isnet-general-1024",provider="cpu"} 1',
      'petcutout_worker_jobs_in_flight 0',
    ]) {
      assert.ok(text.includes(line), `missing ${line}`);
    }
  });

  it('while draining, /readyz says so and push answers 503', async () => {
    readiness.draining();
    await dispatcher.drain(0);
    assert.deepEqual(await (await fetch(`${base}/readyz`)).json(), { status: 'draining' });
    assert.equal((await push(envelope({}))).status, 503);
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
  });
});
