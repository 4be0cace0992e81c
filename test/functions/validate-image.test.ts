import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { validateImage } from '../../functions/validate-image.js';
import { buildCorpus, CORPUS_LIMITS, type CorpusCase } from './corpus.js';

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
    assert.deepEqual(v, { ok: false, code: 'unsupported_format', message: 'the file is a GIF image; accepted are JPEG, PNG and WebP' });
  });
});
