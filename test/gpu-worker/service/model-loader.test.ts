import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkerConfig } from '../../../gpu-worker/config.js';
import { loadWithRetry } from '../../../gpu-worker/service/model-loader.js';
import { Readiness } from '../../../gpu-worker/service/readiness.js';
import { ConfigError, parseConfig } from '../../../shared/config.js';
import { PermanentError, RetryableError } from '../../../shared/errors.js';
import { FakePipeline, silentLogger } from './fakes.js';

describe('loadWithRetry', () => {
  it('retries transient failures with /readyz saying why, then loads', async () => {
    const readiness = new Readiness();
    const phases: string[] = [];
    const waits: number[] = [];
    let calls = 0;
    const pipeline = new FakePipeline();
    const loaded = await loadWithRetry({
      load: async () => {
        phases.push(JSON.stringify(readiness.state));
        if (++calls < 3) throw new RetryableError('unavailable', 'gs:// answered 503');
        return pipeline;
      },
      isFatal: () => false,
      readiness,
      log: silentLogger(),
      stopped: () => false,
      sleep: async (ms) => void waits.push(ms),
    });
    assert.equal(loaded, pipeline);
    assert.deepEqual(waits, [1000, 2000]);
    assert.deepEqual(phases, [
      '{"phase":"loading"}',
      '{"phase":"loading","reason":"attempt 2 after: model load failed (unavailable): gs:// answered 503"}',
      '{"phase":"loading","reason":"attempt 3 after: model load failed (unavailable): gs:// answered 503"}',
    ]);
  });

  it('gives up at once on a fatal error, leaving the reason for /readyz', async () => {
    const readiness = new Readiness();
    await assert.rejects(
      loadWithRetry({
        load: async () => {
          throw new PermanentError('model_checksum', 'sha256 mismatch');
        },
        isFatal: (err) => err instanceof PermanentError,
        readiness,
        log: silentLogger(),
        stopped: () => false,
      }),
      /sha256 mismatch/,
    );
    assert.deepEqual(readiness.state, { phase: 'failed', reason: 'model load failed (model_checksum): sha256 mismatch' });
  });
});

describe('WorkerConfig', () => {
  const base = { GOOGLE_CLOUD_PROJECT: 'petcutout-local', UPLOADS_BUCKET: 'uploads-bkt', RESULTS_BUCKET: 'results-bkt' };
  it('has safe defaults', () => {
    const c = parseConfig(WorkerConfig, base);
    assert.equal(c.WORKER_MODE, 'pull');
    assert.equal(c.SHUTDOWN_GRACE_MS, 8000);
    assert.equal(c.CACHE_ENABLED, true);
  });
  // The test hooks live in test/support/worker-entry.ts: a stray variable in production can
  // neither slow nor fail real jobs, because the worker's configuration has no such switch.
  const hookVariables = { DEBUG_JOB_DELAY_MS: '100', DEBUG_FAIL_CLIENT_REF: 'x' };
  it('knows no test hook variable', () => {
    assert.deepEqual(Object.keys(WorkerConfig.shape).filter((k) => k.startsWith('DEBUG_')), []);
  });
  for (const [name, value] of Object.entries(hookVariables)) {
    it(`ignores ${name} under NODE_ENV=production: the configuration is the one without it`, () => {
      const production = { ...base, NODE_ENV: 'production' };
      assert.deepEqual(parseConfig(WorkerConfig, { ...production, [name]: value }), parseConfig(WorkerConfig, production));
    });
  }
  const refused = [
    { env: { WORKER_MODE: 'poll' }, problem: /WORKER_MODE/ },
    { env: { MODEL_URI: 'gs://b/model.onnx' }, problem: /MODEL_SHA256: required/ },
  ];
  for (const r of refused) {
    it(`refuses ${JSON.stringify(r.env)}`, () => {
      assert.throws(() => parseConfig(WorkerConfig, { ...base, ...r.env }), (err: unknown) => err instanceof ConfigError && r.problem.test(err.message));
    });
  }
});
