// The batch command's argument and input checks; the run itself is in test/e2e/pipeline.test.ts.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BatchUsageError, main, parseBatchArgs } from '../../scripts/batch.js';

const NOW = new Date('2026-12-01T14:05:09.123Z');
const ENV = { GOOGLE_CLOUD_PROJECT: 'petcutout-local', UPLOADS_BUCKET: 'uploads', RESULTS_BUCKET: 'results', STORAGE_EMULATOR_HOST: 'http://127.0.0.1:9' };

describe('batch command: arguments', () => {
  it('names the batch after the start time unless --name is given', () => {
    assert.deepEqual(parseBatchArgs(['a.jpg'], NOW), { inputs: ['a.jpg'], name: '20261201-140509', timeoutSeconds: 600, concurrency: 4 });
    assert.equal(parseBatchArgs(['a.jpg', '--name', 'spring-sale'], NOW).name, 'spring-sale');
  });
  for (const [argv, message] of [
    [[], /no images given/],
    [['a.jpg', '--name', 'a/b'], /--name must be/],
    [['a.jpg', '--name', '..'], /--name must be/],
    [['a.jpg', '--timeout', '0'], /positive integer/],
    [['a.jpg', '--concurrency'], /needs a value/],
    [['a.jpg', '--force'], /unknown option --force/],
  ] as const) {
    it(`refuses ${argv.join(' ') || 'no arguments'}`, () => assert.throws(() => parseBatchArgs(argv, NOW), (err: unknown) => err instanceof BatchUsageError && message.test(err.message)));
  }
});

describe('batch command: refuses before uploading anything (exit 2)', () => {
  const run = async (argv: string[], env: Record<string, string> = ENV): Promise<{ code: number; lines: string[] }> => {
    const lines: string[] = [];
    const code = await main(argv, env, (l) => lines.push(l));
    return { code, lines };
  };
  it('a missing path', async () => {
    const r = await run(['/nonexistent/photos']);
    assert.equal(r.code, 2);
    assert.match(r.lines.join('\n'), /no such file or folder: \/nonexistent\/photos/);
  });
  it('two files with the same name in different folders', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'batch-args-'));
    await mkdir(join(dir, 'a'));
    await mkdir(join(dir, 'b'));
    await writeFile(join(dir, 'a', 'dog.jpg'), 'x');
    await writeFile(join(dir, 'b', 'dog.jpg'), 'y');
    const r = await run([dir]);
    assert.equal(r.code, 2);
    assert.match(r.lines.join('\n'), /two files are named dog\.jpg/);
  });
  it('a missing configuration, every variable named', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'batch-args-'));
    await writeFile(join(dir, 'dog.jpg'), 'x');
    const r = await run([dir], {});
    assert.equal(r.code, 2);
    for (const key of ['GOOGLE_CLOUD_PROJECT', 'UPLOADS_BUCKET', 'RESULTS_BUCKET']) assert.match(r.lines.join('\n'), new RegExp(key));
  });
});
