import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CONTRACTS, renderJsonSchema, type ContractName } from '../../schemas/registry.js';
import { JobMessage, parseOrThrow, UploadRequest, CompletionEvent, SchemaError } from '../../schemas/index.js';

const root = new URL('../../schemas/', import.meta.url);
const example = (name: string): unknown => JSON.parse(readFileSync(new URL(`examples/${name}.json`, root), 'utf8'));

describe('checked-in JSON Schemas', () => {
  for (const name of Object.keys(CONTRACTS) as ContractName[]) {
    it(`${name}.schema.json is up to date with the zod source (run \`npm run schemas\`)`, () => {
      const onDisk = readFileSync(new URL(`json/${name}.schema.json`, root), 'utf8');
      assert.equal(onDisk, renderJsonSchema(name));
    });
  }
});

describe('examples', () => {
  const files = readdirSync(new URL('examples/', root)).filter((f) => f.endsWith('.json'));
  it('there is an example for most contracts', () => assert.ok(files.length >= 5));
  for (const file of files) {
    const name = file.replace(/\.json$/, '') as ContractName;
    it(`${file} validates against ${name}`, () => {
      assert.ok(name in CONTRACTS, `no contract named ${name}`);
      parseOrThrow(CONTRACTS[name], name, example(name));
    });
  }
});

describe('invalid JobMessage names the field', () => {
  const valid = example('job-message') as Record<string, unknown>;
  const cases: { name: string; mutate: (m: Record<string, unknown>) => void; expected: RegExp }[] = [
    { name: 'missing jobId', mutate: (m) => delete m.jobId, expected: /^invalid JobMessage: jobId: / },
    { name: 'wrong type of size', mutate: (m) => ((m.source as Record<string, unknown>).size = '12'), expected: /source\.size: .*expected number/ },
    { name: 'unknown version', mutate: (m) => (m.schemaVersion = 2), expected: /schemaVersion: unsupported schemaVersion 2: expected 1/ },
    { name: 'bad generation', mutate: (m) => ((m.source as Record<string, unknown>).generation = 17), expected: /source\.generation/ },
    { name: 'path trick in job id', mutate: (m) => (m.jobId = '../../etc/passwd'), expected: /jobId: expected a job id of 32 lower-case hex digits/ },
    { name: 'unknown output', mutate: (m) => (m.outputs = ['cutout', 'sepia']), expected: /outputs\.1: / },
    { name: 'extra field', mutate: (m) => (m.priority = 'high'), expected: /Unrecognized key.*priority/ },
    { name: 'HEIC content type', mutate: (m) => ((m.source as Record<string, unknown>).contentType = 'image/heic'), expected: /source\.contentType: unsupported content type "image\/heic": accepted are image\/jpeg, image\/png, image\/webp/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const m = structuredClone(valid);
      c.mutate(m);
      assert.throws(() => parseOrThrow(JobMessage, 'JobMessage', m), (err: unknown) => {
        assert.ok(err instanceof SchemaError);
        assert.match(err.message, c.expected);
        return true;
      });
    });
  }
});

describe('UploadRequest', () => {
  it('defaults the version and outputs', () => {
    const r = parseOrThrow(UploadRequest, 'UploadRequest', { contentType: 'image/png', contentLength: 10 });
    assert.deepEqual(r.outputs, ['cutout', 'mask', 'bw', 'preview']);
    assert.equal(r.schemaVersion, 1);
  });
  it('rejects repeated outputs', () => {
    assert.throws(() => parseOrThrow(UploadRequest, 'UploadRequest', { contentType: 'image/png', contentLength: 10, outputs: ['bw', 'bw'] }), /outputs: outputs must not repeat/);
  });
});

describe('CompletionEvent', () => {
  it('requires the deterministic id', () => {
    const e = example('completion-event') as Record<string, unknown>;
    e.id = 'random';
    assert.throws(() => parseOrThrow(CompletionEvent, 'CompletionEvent', e), /id: id must be completionEventId/);
  });
});
