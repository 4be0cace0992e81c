// Spec item 9: resumable, chunked and multipart uploads pass the official client's hash
// validation; downloads validate, ranged downloads work, corruption is detected.
import assert from 'node:assert/strict';
import { readdir, writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BUCKET, useHarness, testBytes } from './harness.js';

describe('storage emulator: uploads and downloads through @google-cloud/storage', () => {
  const h = useHarness();

  const cases = [
    { name: 'resumable (default)', options: {}, size: 300_000 },
    { name: 'resumable, chunked (chunkSize 256 KiB)', options: { chunkSize: 256 * 1024 }, size: 700_000 },
    { name: 'multipart (resumable: false)', options: { resumable: false }, size: 300_000 },
    { name: 'resumable, empty object', options: {}, size: 0 },
    { name: 'multipart, empty object', options: { resumable: false }, size: 0 },
  ];
  for (const c of cases) {
    it(`save() ${c.name} succeeds, hashes match, download() validates`, async () => {
      const data = testBytes(c.size, c.size + 7);
      const file = h.storage.bucket(BUCKET).file(`save/${c.name}.bin`);
      await file.save(data, { contentType: 'application/x-test', validation: 'crc32c', ...c.options });
      const [meta] = await file.getMetadata();
      assert.equal(meta.size, String(c.size));
      assert.equal(meta.contentType, 'application/x-test');
      assert.equal(meta.metageneration, '1');
      assert.match(String(meta.generation), /^\d{16}$/);
      const [md5Check] = await file.download({ validation: 'md5' });
      assert.ok(md5Check.equals(data));
      const [crcCheck] = await file.download({ validation: 'crc32c' });
      assert.ok(crcCheck.equals(data));
    });
  }

  it('save() with md5 validation passes', async () => {
    const data = testBytes(100_000, 3);
    await h.storage.bucket(BUCKET).file('md5.bin').save(data, { validation: 'md5', resumable: false });
    await h.storage.bucket(BUCKET).file('md5-resumable.bin').save(data, { validation: 'md5' });
  });

  it('ranged download returns exactly the requested bytes', async () => {
    const data = testBytes(50_000, 9);
    const file = h.storage.bucket(BUCKET).file('ranged.bin');
    await file.save(data);
    const [middle] = await file.download({ start: 100, end: 1099 });
    assert.ok(middle.equals(data.subarray(100, 1100)));
    const [tail] = await file.download({ start: 49_000 });
    assert.ok(tail.equals(data.subarray(49_000)));
  });

  it('createReadStream/createWriteStream round trip', async () => {
    const data = testBytes(1_000_000, 11);
    const file = h.storage.bucket(BUCKET).file('streams.bin');
    await new Promise<void>((resolve, reject) => {
      const ws = file.createWriteStream({ contentType: 'application/octet-stream' });
      ws.on('error', reject).on('finish', resolve);
      ws.end(data);
    });
    const chunks: Buffer[] = [];
    for await (const chunk of file.createReadStream()) chunks.push(chunk as Buffer);
    assert.ok(Buffer.concat(chunks).equals(data));
  });

  it('a corrupted file on disk makes download() raise CONTENT_DOWNLOAD_MISMATCH', async () => {
    const data = testBytes(10_000, 5);
    const file = h.storage.bucket(BUCKET).file('corrupt-me.bin');
    await file.save(data);
    const dir = join(h.emu.dataDir, BUCKET, 'objects');
    const stored = (await readdir(dir)).find((f) => f.startsWith('corrupt-me.bin#'));
    assert.ok(stored, 'object bytes are inspectable on disk');
    const bytes = await readFile(join(dir, stored));
    assert.ok(bytes.equals(data));
    bytes[1234] = bytes[1234]! ^ 0xff;
    await writeFile(join(dir, stored), bytes);
    await assert.rejects(file.download(), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'CONTENT_DOWNLOAD_MISMATCH');
      return true;
    });
  });

  it('object metadata sidecar is inspectable on disk', async () => {
    await h.storage.bucket(BUCKET).file('a dir/ü name.txt').save('hello', { contentType: 'text/plain' });
    const sidecar = JSON.parse(await readFile(join(h.emu.dataDir, BUCKET, 'meta', `${encodeURIComponent('a dir/ü name.txt')}.json`), 'utf8'));
    assert.equal(sidecar.name, 'a dir/ü name.txt');
    assert.equal(sidecar.crc32c, 'mnG7TA==');
    assert.equal(sidecar.md5Hash, 'XUFAKrxLKna5cZ2REBfFkg==');
  });
});
