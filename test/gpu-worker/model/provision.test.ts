import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { sha256Hex } from '../../../gpu-worker/model/checksum.js';
import { parseGsUri, provisionModel, type StorageLike } from '../../../gpu-worker/model/provision.js';
import { PermanentError } from '../../../shared/errors.js';

const BYTES = Buffer.from('not really an onnx file, but bytes with a digest');
const GOOD = sha256Hex(BYTES);
const WRONG = 'f'.repeat(64);

/** A Storage fake that serves one object from a local file and counts downloads. */
function fakeStorage(source: string): StorageLike & { downloads: string[] } {
  const downloads: string[] = [];
  return {
    downloads,
    bucket: (bucket) => ({
      file: (name) => ({
        download: async ({ destination }) => {
          downloads.push(`gs://${bucket}/${name}`);
          await copyFile(source, destination);
        },
      }),
    }),
  };
}

async function setup(): Promise<{ dir: string; source: string; cacheDir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'provision-'));
  const source = join(dir, 'model.onnx');
  await writeFile(source, BYTES);
  return { dir, source, cacheDir: join(dir, 'cache') };
}

const isChecksumError = (err: unknown): boolean =>
  err instanceof PermanentError && err.code === 'model_checksum' && err.message.includes(`expected sha256 ${WRONG}`) && err.message.includes(`got ${GOOD}`);

describe('parseGsUri', () => {
  const cases = [
    { uri: 'gs://models/isnet/v1.onnx', expected: { bucket: 'models', object: 'isnet/v1.onnx' } },
    { uri: 'gs://models/', expected: undefined },
    { uri: '/local/model.onnx', expected: undefined },
  ];
  for (const c of cases) it(c.uri, () => assert.deepEqual(parseGsUri(c.uri), c.expected));
});

describe('provisionModel', () => {
  it('a local path verifies in place', async () => {
    const { source, cacheDir } = await setup();
    assert.deepEqual(await provisionModel({ uri: source, sha256: GOOD.toUpperCase(), cacheDir }), { path: source, sha256: GOOD, cached: true });
  });
  it('a local path with the wrong digest is a startup error naming expected and actual', async () => {
    const { source, cacheDir } = await setup();
    await assert.rejects(provisionModel({ uri: source, sha256: WRONG, cacheDir }), isChecksumError);
  });
  it('a local path without a digest reports the one it computed', async () => {
    const { source, cacheDir } = await setup();
    assert.equal((await provisionModel({ uri: source, cacheDir })).sha256, GOOD);
  });
  it('a missing local file says so', async () => {
    await assert.rejects(provisionModel({ uri: '/nonexistent/model.onnx', cacheDir: '/tmp' }), /model file not found: \/nonexistent\/model.onnx/);
  });
  it('gs:// downloads once into the cache, then serves the verified cached copy', async () => {
    const { source, cacheDir } = await setup();
    const storage = fakeStorage(source);
    const first = await provisionModel({ uri: 'gs://models/net.onnx', sha256: GOOD, cacheDir, storage });
    assert.equal(first.cached, false);
    assert.equal(first.path, join(cacheDir, `sha256-${GOOD}.onnx`));
    const second = await provisionModel({ uri: 'gs://models/net.onnx', sha256: GOOD, cacheDir, storage });
    assert.equal(second.cached, true);
    assert.deepEqual(storage.downloads, ['gs://models/net.onnx']);
  });
  it('gs:// with the wrong digest fails and leaves nothing in the cache', async () => {
    const { source, cacheDir } = await setup();
    await assert.rejects(provisionModel({ uri: 'gs://models/net.onnx', sha256: WRONG, cacheDir, storage: fakeStorage(source) }), isChecksumError);
    assert.deepEqual(await readdir(cacheDir), []);
  });
  it('a corrupt cache entry is replaced by a fresh download', async () => {
    const { source, cacheDir } = await setup();
    const storage = fakeStorage(source);
    await provisionModel({ uri: 'gs://models/net.onnx', sha256: GOOD, cacheDir, storage });
    await writeFile(join(cacheDir, `sha256-${GOOD}.onnx`), 'bit rot');
    const again = await provisionModel({ uri: 'gs://models/net.onnx', sha256: GOOD, cacheDir, storage });
    assert.equal(again.cached, false);
    assert.equal(storage.downloads.length, 2);
  });
  it('gs:// needs a digest and a client', async () => {
    const { cacheDir, source } = await setup();
    await assert.rejects(provisionModel({ uri: 'gs://models/net.onnx', cacheDir, storage: fakeStorage(source) }), /MODEL_SHA256 is required for gs:\/\/models\/net.onnx/);
    await assert.rejects(provisionModel({ uri: 'gs://models/net.onnx', sha256: GOOD, cacheDir }), /a Storage client is needed/);
  });
});
