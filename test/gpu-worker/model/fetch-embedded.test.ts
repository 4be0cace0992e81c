import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sha256Hex } from '../../../gpu-worker/model/checksum.js';
import { EMBEDDED_MODEL, type EmbeddedModelPin } from '../../../gpu-worker/model/embedded.js';
import { fetchEmbeddedModel, type RunCommand } from '../../../gpu-worker/model/fetch-embedded.js';
import { PermanentError } from '../../../shared/errors.js';
import { recordingLogger } from './support.js';

const CHUNK = 1000;
const WEIGHTS = Buffer.from(Array.from({ length: 2500 }, (_, i) => (i * 31) & 255));
const chunks = [WEIGHTS.subarray(0, CHUNK), WEIGHTS.subarray(CHUNK, 2 * CHUNK), WEIGHTS.subarray(2 * CHUNK)];

const pin = (over: Partial<EmbeddedModelPin> = {}): EmbeddedModelPin => ({
  ...EMBEDDED_MODEL,
  npmPackage: '@fake/weights',
  npmVersion: '1.0.0',
  resource: '/models/medium',
  sizeBytes: WEIGHTS.length,
  sha256: sha256Hex(WEIGHTS),
  fileName: 'fake.onnx',
  ...over,
});

/** `npm pack` builds a real tarball shaped like @imgly's (dist/resources.json + chunk files); `tar` is the real one. */
function fakeRun(options: { corruptChunk?: number } = {}): RunCommand & { packs: number } {
  const run = async (cmd: string, args: string[], cwd: string): Promise<string> => {
    if (cmd === 'npm') {
      run.packs++;
      const dest = args[args.indexOf('--pack-destination') + 1]!;
      const src = await mkdtemp(join(tmpdir(), 'fake-pkg-'));
      await mkdir(join(src, 'package', 'dist'), { recursive: true });
      const entries = [];
      let offset = 0;
      for (const [i, chunk] of chunks.entries()) {
        const hash = sha256Hex(chunk);
        await writeFile(join(src, 'package', 'dist', hash), i === options.corruptChunk ? Buffer.from('tampered') : chunk);
        entries.push({ hash, offsets: [offset, offset + chunk.length] });
        offset += chunk.length;
      }
      const resources = { '/models/medium': { chunks: entries, size: WEIGHTS.length, mime: 'application/octet-stream' } };
      await writeFile(join(src, 'package', 'dist', 'resources.json'), JSON.stringify(resources));
      execFileSync('tar', ['-czf', join(dest, 'fake-weights-1.0.0.tgz'), '-C', src, 'package']);
      return 'fake-weights-1.0.0.tgz\n';
    }
    return execFileSync(cmd, args, { cwd }).toString();
  };
  run.packs = 0;
  return run;
}

describe('fetchEmbeddedModel', () => {
  it('packs, verifies each chunk, reassembles, verifies the whole, and states the licence', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'cache-'));
    const logger = recordingLogger();
    const run = fakeRun();
    const { path, fetched } = await fetchEmbeddedModel({ cacheDir, logger, run, model: pin() });
    assert.equal(fetched, true);
    assert.deepEqual(await readFile(path), WEIGHTS);
    assert.ok(logger.lines.some((l) => l.obj['event'] === 'model.license' && /licensed AGPL-3\.0/.test(l.msg)));
  });
  it('is idempotent: a cached file that verifies is kept without packing again', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'cache-'));
    const run = fakeRun();
    await fetchEmbeddedModel({ cacheDir, logger: recordingLogger(), run, model: pin() });
    const again = await fetchEmbeddedModel({ cacheDir, logger: recordingLogger(), run, model: pin() });
    assert.equal(again.fetched, false);
    assert.equal(run.packs, 1);
  });
  it('a cached file that does not verify is fetched again', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'cache-'));
    await writeFile(join(cacheDir, 'fake.onnx'), 'truncated');
    const { fetched, path } = await fetchEmbeddedModel({ cacheDir, logger: recordingLogger(), run: fakeRun(), model: pin() });
    assert.equal(fetched, true);
    assert.deepEqual(await readFile(path), WEIGHTS);
  });
  it('a tampered chunk is refused, naming it, and nothing is cached', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'cache-'));
    await assert.rejects(
      fetchEmbeddedModel({ cacheDir, logger: recordingLogger(), run: fakeRun({ corruptChunk: 1 }), model: pin() }),
      (err: unknown) => err instanceof Error && err.message.includes(sha256Hex(chunks[1]!)),
    );
    assert.deepEqual(await readdir(cacheDir), []);
  });
  it('a reassembled file with another digest than pinned is refused with both digests', async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), 'cache-'));
    const wrong = 'e'.repeat(64);
    await assert.rejects(
      fetchEmbeddedModel({ cacheDir, logger: recordingLogger(), run: fakeRun(), model: pin({ sha256: wrong }) }),
      (err: unknown) => err instanceof PermanentError && err.code === 'model_checksum' && err.message.includes(wrong) && err.message.includes(sha256Hex(WEIGHTS)),
    );
    assert.deepEqual(await readdir(cacheDir), []);
  });
  it('the pinned release is the package default ISNet, 88 MB', () => {
    assert.equal(EMBEDDED_MODEL.npmVersion, '1.4.5');
    assert.match(EMBEDDED_MODEL.sha256, /^[0-9a-f]{64}$/);
    assert.equal(EMBEDDED_MODEL.license, 'AGPL-3.0');
  });
});
