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
    assert.equal(c.DEBUG_JOB_DELAY_MS, 0);
    assert.equal(c.CACHE_ENABLED, true);
  });
  const refused = [
    { env: { NODE_ENV: 'production', DEBUG_JOB_DELAY_MS: '100' }, problem: /DEBUG_JOB_DELAY_MS: test hook not allowed when NODE_ENV=production/ },
    { env: { NODE_ENV: 'production', DEBUG_FAIL_CLIENT_REF: 'x' }, problem: /DEBUG_FAIL_CLIENT_REF: test hook not allowed/ },
    { env: { WORKER_MODE: 'poll' }, problem: /WORKER_MODE/ },
    { env: { MODEL_URI: 'gs://b/model.onnx' }, problem: /MODEL_SHA256: required/ },
  ];
  for (const r of refused) {
    it(`refuses ${JSON.stringify(r.env)}`, () => {
      assert.throws(() => parseConfig(WorkerConfig, { ...base, ...r.env }), (err: unknown) => err instanceof ConfigError && r.problem.test(err.message));
    });
  }
});
