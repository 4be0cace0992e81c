import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { validateImage } from '../../functions/validate-image.js';
import { readdirSync, readFileSync } from 'node:fs';
import { buildCorpus, corruptFiles, CORPUS_LIMITS, garbledScanJpeg, type CorpusCase } from './corpus.js';

const check = (body: Buffer, declaredType: string) => validateImage({ body, size: body.length, declaredType, contentIsAuthoritative: false }, CORPUS_LIMITS);

// Generous: a hang would show up as this, not as a runner timeout minutes later.
const PER_CASE_DEADLINE_MS = 5_000;

describe('validateImage over the bad-input corpus', async () => {
  let corpus: CorpusCase[] = [];
  before(async () => {
    corpus = await buildCorpus();
  });

  it('has at least 25 generated cases', () => {
    assert.ok(corpus.length >= 25, `only ${corpus.length} cases`);
  });

  // Built once up front so each case is its own named test.
  for (const c of await buildCorpus()) {
    it(`${c.name} -> ${c.expected}`, async () => {
      const started = Date.now();
      const verdict = await validateImage(
        { body: c.body, size: c.body.length, declaredType: c.declaredType, contentIsAuthoritative: c.trigger === 'batch' },
        CORPUS_LIMITS,
      );
      assert.ok(Date.now() - started < PER_CASE_DEADLINE_MS, 'validation took too long');
      if (c.expected === 'accepted') {
        assert.ok(verdict.ok, `expected accepted, got ${JSON.stringify(verdict)}`);
        assert.equal(verdict.contentType, c.acceptedAs);
      } else {
        assert.ok(!verdict.ok, `expected ${c.expected}, got accepted`);
        assert.equal(verdict.code, c.expected, verdict.message);
        assert.ok(verdict.message.length > 10);
      }
    });
  }
});

describe('validateImage messages', () => {
  it('says what is accepted when the format is not', async () => {
    const v = await validateImage({ body: Buffer.from('GIF89a....'), size: 10, declaredType: 'image/gif', contentIsAuthoritative: false }, CORPUS_LIMITS);
    assert.deepEqual(v, {
      ok: false,
      code: 'unsupported_format',
      message: 'This type of file is not supported — please choose a JPEG, PNG or WebP photo.',
      detail: 'the file is a GIF image; accepted are JPEG, PNG and WebP',
    });
  });
});

// Issue 17 item 6: libvips keeps one error buffer per process, so concurrent failures read
// each other's text (a truncated JPEG's job said "vipspng: libpng read error").
describe('validateImage under concurrency', () => {
  it('gives each of 20 corrupt files validated at once its own message', async () => {
    const files = await corruptFiles();
    assert.equal(files.length, 20);
    const alone: Awaited<ReturnType<typeof check>>[] = [];
    for (const f of files) alone.push(await check(f.body, f.declaredType));
    for (let round = 0; round < 3; round++) {
      const together = await Promise.all(files.map((f) => check(f.body, f.declaredType)));
      files.forEach((f, i) => {
        const v = together[i];
        assert.ok(v && !v.ok, `${f.name} was accepted`);
        assert.equal(v.code, 'corrupt', f.name);
        assert.match(v.detail ?? '', f.own, `${f.name} got another file's message: ${v.detail}`);
        assert.deepEqual(v, alone[i], `${f.name}: the same verdict as when validated alone`);
      });
    }
  });
});

// Issue 17 item 7: garbled entropy-coded data decodes with a libjpeg warning only.
describe('validateImage: damaged JPEG scan data', () => {
  for (const seed of [1, 2, 3]) {
    it(`rejects a JPEG with garbled scan data as corrupt (seed ${seed}), in words for a shopper`, async () => {
      const v = await check(await garbledScanJpeg(seed), 'image/jpeg');
      assert.ok(!v.ok, 'a garbled JPEG was accepted');
      assert.equal(v.code, 'corrupt');
      assert.equal(v.message, 'This file is damaged or incomplete — please choose the photo again.');
      assert.match(v.detail ?? '', /corrupt|premature|extraneous|jpeg/i);
    });
  }

  // The strict decode must not refuse healthy photos: every real JPEG we have decodes cleanly.
  const dirs = [new URL('../fixtures/photos/', import.meta.url), new URL('../../../shared/data/photos/', import.meta.url)];
  for (const dir of dirs) {
    let names: string[] = [];
    try {
      names = readdirSync(dir).filter((n) => /\.jpe?g$/i.test(n));
    } catch {
      // ../shared/data is there in the project's workspace only.
    }
    for (const name of names) {
      it(`accepts the real photo ${dir.pathname.split('/').slice(-3).join('/')}${name} under the strict decode`, async () => {
        const body = readFileSync(new URL(name, dir));
        const v = await check(body, 'image/jpeg');
        assert.ok(v.ok, JSON.stringify(v));
      });
    }
  }
});
