import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { lazyFunctions } from '../../functions/app.js';
import { loadFunctionsConfig } from '../../functions/config.js';
import { ConfigError } from '../../shared/config.js';
import { fakeRequest, fakeResponse, fakeWorld } from './fakes.js';

const GOOD = { GOOGLE_CLOUD_PROJECT: 'petcutout-local', UPLOADS_BUCKET: 'uploads-bkt', RESULTS_BUCKET: 'results-bkt' };

describe('functions configuration', () => {
  it('has safe defaults', () => {
    const c = loadFunctionsConfig(GOOD);
    assert.equal(c.MAX_UPLOAD_BYTES, 50 * 1024 * 1024);
    assert.equal(c.SIGNED_URL_TTL_SECONDS, 900);
    assert.deepEqual(c.ALLOWED_ORIGINS, []);
  });
  it('parses lists and numbers', () => {
    const c = loadFunctionsConfig({ ...GOOD, ALLOWED_ORIGINS: 'https://a.example, https://b.example', MAX_UPLOAD_BYTES: '1000' });
    assert.deepEqual(c.ALLOWED_ORIGINS, ['https://a.example', 'https://b.example']);
    assert.equal(c.MAX_UPLOAD_BYTES, 1000);
  });
  it('reports every problem at once', () => {
    assert.throws(
      () => loadFunctionsConfig({ UPLOADS_BUCKET: 'x', SIGNED_URL_TTL_SECONDS: '700000', RATE_LIMIT_BURST: 'lots' }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.problems.length, 5, err.message);
        for (const key of ['GOOGLE_CLOUD_PROJECT', 'UPLOADS_BUCKET', 'RESULTS_BUCKET', 'SIGNED_URL_TTL_SECONDS', 'RATE_LIMIT_BURST']) assert.match(err.message, new RegExp(key));
        return true;
      },
    );
  });
});

describe('functions entry point', () => {
  it('imports with no environment at all, and registers all four functions', () => {
    const script = `
      const m = await import('./functions/index.ts');
      const t = await import('@google-cloud/functions-framework/testing');
      const getFunction = t.getFunction ?? t.default.getFunction;
      for (const n of ['createUpload', 'getStatus', 'onObjectFinalized', 'onDeadLetter']) if (!getFunction(n)) throw new Error('missing ' + n);
      console.log('ok', Object.keys(m).join(','));`;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { env: { PATH: process.env['PATH'] ?? '' }, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^ok functions/);
  });

  it('with a bad configuration: one message listing every problem, 503 for HTTP, a throw for events', async () => {
    const world = fakeWorld();
    let built = 0;
    const fns = lazyFunctions(
      () => ({ UPLOADS_BUCKET: 'Bad_Bucket' }),
      () => {
        built++;
        return world.deps;
      },
      world.deps.logger,
    );
    const res = fakeResponse();
    await fns.createUpload(fakeRequest({ method: 'POST', body: {} }), res);
    assert.equal(res.statusCode, 503);
    assert.equal((res.json()['error'] as { code: string }).code, 'misconfigured');
    const res2 = fakeResponse();
    await fns.getStatus(fakeRequest({ path: '/jobs/x' }), res2);
    assert.equal(res2.statusCode, 503);
    await assert.rejects(fns.onObjectFinalized({}), ConfigError);
    await assert.rejects(fns.onDeadLetter({}), /GOOGLE_CLOUD_PROJECT/);
    assert.equal(built, 0);
    const logged = world.lines.filter((l) => l['event'] === 'config.invalid');
    assert.equal(logged.length, 1, 'reported once, not per invocation');
    assert.match(String(logged[0]?.['message']), /invalid configuration \(3 problems\)/);
  });

  it('builds the dependencies once, on first use', async () => {
    const world = fakeWorld();
    let built = 0;
    const fns = lazyFunctions(
      () => GOOD,
      () => {
        built++;
        return world.deps;
      },
    );
    assert.equal(built, 0);
    await fns.onObjectFinalized({ nonsense: true });
    await fns.onDeadLetter({ nonsense: true });
    assert.equal(built, 1);
  });
});
