import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startFunction, type FunctionProcess } from '../localcloud/functions-framework.js';
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

// Issue 17 item 3: requests functions-framework refuses before our handler runs (its body
// parsers) got its HTML error page, with a stack trace unless NODE_ENV=production.
const SOURCE = fileURLToPath(new URL('../../functions/index.ts', import.meta.url));
const ALLOWED = 'https://shop.example';

for (const nodeEnv of ['', 'production']) {
  describe(`error answers through the real functions-framework, NODE_ENV=${nodeEnv || '(unset)'}`, () => {
    const fns: Record<string, FunctionProcess> = {};
    before(async () => {
      const env = { ...GOOD, NODE_OPTIONS: '--import tsx', NODE_ENV: nodeEnv, ALLOWED_ORIGINS: ALLOWED, LOG_LEVEL: 'silent' };
      await Promise.all(
        (['createUpload', 'getStatus'] as const).map(async (target) => {
          fns[target] = await startFunction({ source: SOURCE, target, signatureType: 'http', env, readyTimeoutMs: 60_000 });
        }),
      );
    });
    after(async () => {
      await Promise.all(Object.values(fns).map((f) => f.stop()));
    });

    const cases: Array<{ name: string; target: string; path?: string; method?: string; type?: string; body?: string; headers?: Record<string, string>; status: number; code: string; cors?: boolean }> = [
      { name: 'malformed JSON', target: 'createUpload', type: 'application/json', body: '{"contentType": "image/png",', status: 400, code: 'bad_request' },
      { name: 'the JSON literal null', target: 'createUpload', type: 'application/json', body: 'null', status: 400, code: 'bad_request' },
      { name: 'a JSON string', target: 'createUpload', type: 'application/json', body: '"x"', status: 400, code: 'bad_request' },
      { name: 'a JSON array', target: 'createUpload', type: 'application/json', body: '[]', status: 400, code: 'bad_request' },
      { name: 'an unsupported charset', target: 'createUpload', type: 'application/json; charset=klingon', body: '{}', status: 415, code: 'unsupported_media_type' },
      { name: 'an unsupported Content-Encoding', target: 'createUpload', type: 'application/json', body: '{}', headers: { 'content-encoding': 'bogus' }, status: 415, code: 'unsupported_media_type' },
      { name: 'a text/plain body', target: 'createUpload', type: 'text/plain', body: '{"contentType":"image/png","contentLength":1}', status: 415, code: 'unsupported_media_type' },
      { name: 'a form body', target: 'createUpload', type: 'application/x-www-form-urlencoded', body: 'a=1', status: 415, code: 'unsupported_media_type' },
      { name: 'a text/plain POST from another origin', target: 'createUpload', type: 'text/plain', body: '{}', headers: { origin: 'https://evil.example' }, status: 403, code: 'origin_not_allowed', cors: false },
      { name: 'a valid body that is not an upload request', target: 'createUpload', type: 'application/json', body: '{"contentType":"image/gif"}', status: 400, code: 'bad_request' },
      { name: 'malformed JSON to getStatus', target: 'getStatus', path: '/jobs/0123', method: 'POST', type: 'application/json', body: '{oops', status: 400, code: 'bad_request' },
      { name: 'a bad job id', target: 'getStatus', path: '/jobs/not-an-id', method: 'GET', status: 400, code: 'bad_request' },
      { name: 'a wrong method', target: 'getStatus', path: '/jobs/0123', method: 'DELETE', status: 405, code: 'method_not_allowed' },
    ];
    for (const c of cases) {
      it(`${c.target}: ${c.name} gets ${c.status} ${c.code} as our JSON, with CORS headers and no stack`, async () => {
        const headers: Record<string, string> = { origin: ALLOWED, ...(c.type ? { 'content-type': c.type } : {}), ...c.headers };
        const res = await fetch(new URL(c.path ?? '/uploads', fns[c.target]!.url), { method: c.method ?? 'POST', headers, ...(c.body !== undefined ? { body: c.body } : {}) });
        const text = await res.text();
        assert.equal(res.status, c.status, text);
        assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
        const body = JSON.parse(text) as { error: Record<string, unknown> };
        assert.deepEqual(Object.keys(body), ['error']);
        assert.equal(body.error['code'], c.code);
        assert.equal(typeof body.error['message'], 'string');
        assert.doesNotMatch(text, /\bat |node_modules|\.[jt]s:\d|<html|<pre/i, 'no stack, no HTML');
        assert.equal(res.headers.get('access-control-allow-origin'), c.cors === false ? null : ALLOWED);
        assert.match(res.headers.get('vary') ?? '', /Origin/);
      });
    }
  });
}
