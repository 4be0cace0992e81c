/**
 * Browser access in production (issue 15): the uploads bucket takes PUTs from the storefront
 * origins with every header a real ticket makes the browser send, the results bucket serves
 * GETs to them, and both follow the same one variable that also feeds the functions'
 * ALLOWED_ORIGINS, so the three cannot disagree.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createUploadHandler, type CreateUploadSettings } from '../../functions/create-upload.js';
import { UploadTicket } from '../../schemas/upload.js';
import { fakeRequest, fakeResponse, fakeWorld } from '../functions/fakes.js';
import { blocks, loadTerraform, resource, type Block } from './hcl.js';

const model = await loadTerraform();
const ORIGINS = '${var.allowed_origins}';

function corsOf(bucket: string): Block {
  const rules = blocks(resource(model, 'google_storage_bucket', bucket)['cors']);
  assert.equal(rules.length, 1, `bucket ${bucket}: one CORS rule`);
  return rules[0]!;
}

/** The headers of a real ticket, every optional one present (clientRef, outputs). */
async function ticketHeaders(): Promise<string[]> {
  const origin = 'https://shop.example';
  const world = fakeWorld();
  const settings: CreateUploadSettings = {
    uploadsBucket: 'uploads',
    maxUploadBytes: 1_000_000,
    signedUrlTtlSeconds: 900,
    allowedOrigins: [origin],
    rateLimit: { perMinute: 60, burst: 10 },
    publicBaseUrl: 'https://api.example',
  };
  const handle = createUploadHandler(world.deps, settings);
  const res = fakeResponse();
  await handle(fakeRequest({ method: 'POST', path: '/uploads', headers: { origin, 'content-type': 'application/json' }, body: { contentType: 'image/png', contentLength: 10, outputs: ['cutout'], clientRef: 'order 7' } }), res);
  assert.equal(res.statusCode, 201, JSON.stringify(res.json()));
  return Object.keys(UploadTicket.parse(res.json()).upload.headers).map((h) => h.toLowerCase());
}

describe('terraform: browser CORS from one list of storefront origins', () => {
  it('the uploads bucket allows PUT from the storefront origins with every header a ticket carries', async () => {
    const cors = corsOf('uploads');
    assert.equal(cors['origin'], ORIGINS);
    assert.deepEqual(cors['method'], ['PUT']);
    const allowed = (cors['response_header'] as string[]).map((h) => h.toLowerCase());
    const needed = await ticketHeaders();
    assert.ok(needed.length >= 4, `a ticket with clientRef signs type, size range, outputs and ref: ${needed.join(', ')}`);
    for (const header of needed) assert.ok(allowed.includes(header), `the preflight of a PUT sending ${header} would fail: allowed ${allowed.join(', ')}`);
    assert.ok(Number(cors['max_age_seconds']) > 0, 'preflights are cached');
  });

  it('the results bucket allows GET (fetch, canvas) from the same origins', () => {
    const cors = corsOf('results');
    assert.equal(cors['origin'], ORIGINS);
    assert.ok((cors['method'] as string[]).includes('GET'));
    assert.ok(!(cors['method'] as string[]).some((m) => ['PUT', 'POST', 'DELETE', '*'].includes(m)), 'results are read-only to browsers');
  });

  it("the functions' ALLOWED_ORIGINS is the same variable, and no other origin list exists", () => {
    for (const fn of ['create_upload', 'get_status']) {
      const env = model.expressions.find((e) => e.path === `resource.google_cloudfunctions2_function.${fn}.service_config.environment_variables`);
      assert.ok(env, `no environment for ${fn}`);
      assert.match(env.text, /ALLOWED_ORIGINS\s*=\s*join\(",",\s*var\.allowed_origins\)/, fn);
    }
    const users = model.expressions.filter((e) => e.text.includes('var.allowed_origins') && !e.path.startsWith('variable.')).map((e) => e.path);
    assert.deepEqual(users.sort(), [
      'resource.google_cloudfunctions2_function.create_upload.service_config.environment_variables',
      'resource.google_cloudfunctions2_function.get_status.service_config.environment_variables',
      'resource.google_storage_bucket.results.cors.origin',
      'resource.google_storage_bucket.uploads.cors.origin',
    ]);
    assert.deepEqual([...model.variables.keys()].filter((k) => /origin/i.test(k)), ['allowed_origins']);
    // Nowhere is an origin written out by hand instead.
    const literal = model.strings.filter((s) => /^https?:\/\/[^$]*$/.test(s.text) && /cors|ORIGIN/i.test(s.path));
    assert.deepEqual(literal, []);
  });
});
