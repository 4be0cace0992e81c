// Spec item 10 and the rest of the JSON API: preconditions (412), generations and
// metagenerations, list with prefix/delimiter/paging, copy, rewrite, delete, buckets.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Storage } from '@google-cloud/storage';
import { BUCKET, PROJECT_ID, useHarness, statusOf } from './harness.js';

describe('storage emulator: objects, preconditions, listing through @google-cloud/storage', () => {
  const h = useHarness();

  it('ifGenerationMatch=0 creates once, then 412 on the existing object (resumable and multipart)', async () => {
    const file = h.storage.bucket(BUCKET).file('create-only.txt');
    await file.save('first', { preconditionOpts: { ifGenerationMatch: 0 } });
    for (const resumable of [true, false]) {
      await assert.rejects(file.save('second', { resumable, preconditionOpts: { ifGenerationMatch: 0 } }), (err) => statusOf(err) === 412);
    }
    const [content] = await file.download();
    assert.equal(content.toString(), 'first');
  });

  it('generation moves on every write, metageneration on every metadata change', async () => {
    const file = h.storage.bucket(BUCKET).file('gens.txt');
    await file.save('v1');
    const [m1] = await file.getMetadata();
    await file.save('v2');
    const [m2] = await file.getMetadata();
    assert.ok(BigInt(m2.generation!) > BigInt(m1.generation!), 'generation increases');
    assert.equal(m2.metageneration, '1');
    await file.setMetadata({ metadata: { owner: 'test' }, contentType: 'text/x-test' });
    const [m3] = await file.getMetadata();
    assert.equal(m3.generation, m2.generation);
    assert.equal(m3.metageneration, '2');
    assert.equal(m3.metadata?.['owner'], 'test');
    assert.equal(m3.contentType, 'text/x-test');
    await file.setMetadata({ metadata: { owner: null, extra: 'x' } });
    const [m4] = await file.getMetadata();
    assert.equal(m4.metageneration, '3');
    assert.deepEqual(m4.metadata, { extra: 'x' });
  });

  it('ifGenerationMatch / ifGenerationNotMatch / ifMetagenerationMatch give 412 when they do not hold', async () => {
    const file = h.storage.bucket(BUCKET).file('pre.txt');
    await file.save('x');
    const [meta] = await file.getMetadata();
    const gen = Number(meta.generation);
    await file.save('y', { preconditionOpts: { ifGenerationMatch: gen } });
    await assert.rejects(file.save('z', { preconditionOpts: { ifGenerationMatch: gen } }), (err) => statusOf(err) === 412);
    await assert.rejects(file.setMetadata({ metadata: { a: '1' } }, { ifMetagenerationMatch: 7 }), (err) => statusOf(err) === 412);
    await file.setMetadata({ metadata: { a: '1' } }, { ifMetagenerationMatch: 1 });
    const [now] = await file.getMetadata();
    await assert.rejects(file.delete({ ifGenerationNotMatch: Number(now.generation) }), (err) => statusOf(err) === 412);
    await assert.rejects(file.getMetadata({ ifGenerationMatch: 1 }), (err) => statusOf(err) === 412);
  });

  it('reading another generation than the live one is a 404', async () => {
    const file = h.storage.bucket(BUCKET).file('gen-read.txt');
    await file.save('old');
    const [old] = await file.getMetadata();
    await file.save('new');
    const [live] = await file.getMetadata();
    const [bytes] = await h.storage.bucket(BUCKET).file('gen-read.txt', { generation: Number(live.generation) }).download();
    assert.equal(bytes.toString(), 'new');
    await assert.rejects(h.storage.bucket(BUCKET).file('gen-read.txt', { generation: Number(old.generation) }).download(), (err) => statusOf(err) === 404);
    await assert.rejects(h.storage.bucket(BUCKET).file('gen-read.txt', { generation: Number(old.generation) }).getMetadata(), (err) => statusOf(err) === 404);
  });

  it('getFiles with prefix and delimiter, and paging over more objects than maxResults', async () => {
    const bucket = h.storage.bucket(BUCKET);
    const names = ['list/a.txt', 'list/b.txt', 'list/sub/c.txt', 'list/sub/d.txt', 'list/sub2/e.txt', 'list/z.txt'];
    for (let i = 0; i < 23; i++) names.push(`list/many/${String(i).padStart(3, '0')}.bin`);
    await Promise.all(names.map((n) => bucket.file(n).save(n)));

    const [top, , topResponse] = await bucket.getFiles({ prefix: 'list/', delimiter: '/', autoPaginate: false });
    assert.deepEqual(top.map((f) => f.name), ['list/a.txt', 'list/b.txt', 'list/z.txt']);
    assert.deepEqual((topResponse as { prefixes?: string[] }).prefixes, ['list/many/', 'list/sub/', 'list/sub2/']);

    const [all] = await bucket.getFiles({ prefix: 'list/many/', maxResults: 5 });
    assert.equal(all.length, 5, 'maxResults caps the total with autoPaginate');

    const seen: string[] = [];
    let query: Record<string, unknown> | null = { prefix: 'list/many/', maxResults: 5, autoPaginate: false };
    let pages = 0;
    while (query) {
      const [files, next]: [Array<{ name: string }>, Record<string, unknown> | null] = (await bucket.getFiles(query)) as never;
      assert.ok(files.length <= 5);
      seen.push(...files.map((f) => f.name));
      query = next;
      pages++;
    }
    assert.equal(pages, 5);
    assert.deepEqual(seen, names.filter((n) => n.startsWith('list/many/')).sort());

    const [everything] = await bucket.getFiles({ prefix: 'list/' });
    assert.equal(everything.length, names.length, 'autoPaginate walks every page');
  });

  it('paging with a delimiter does not repeat prefixes', async () => {
    const bucket = h.storage.bucket(BUCKET);
    for (const n of ['pd/a/1', 'pd/a/2', 'pd/b/1', 'pd/c', 'pd/d/1']) await bucket.file(n).save('x');
    const keys: string[] = [];
    let query: Record<string, unknown> | null = { prefix: 'pd/', delimiter: '/', maxResults: 1, autoPaginate: false };
    while (query) {
      const [files, next, resp] = (await bucket.getFiles(query)) as unknown as [Array<{ name: string }>, Record<string, unknown> | null, { prefixes?: string[] }];
      keys.push(...files.map((f) => f.name), ...(resp.prefixes ?? []));
      query = next;
    }
    assert.deepEqual(keys, ['pd/a/', 'pd/b/', 'pd/c', 'pd/d/']);
  });

  it('copy (rewriteTo, as the client sends it) keeps bytes and hashes, make a new generation, and respect preconditions', async () => {
    const bucket = h.storage.bucket(BUCKET);
    const src = bucket.file('copy/src.txt');
    await src.save('copy me', { contentType: 'text/plain', metadata: { metadata: { k: 'v' } } });
    const [copy] = await src.copy(bucket.file('copy/dst.txt'));
    const [srcMeta] = await src.getMetadata();
    const [dstMeta] = await copy.getMetadata();
    assert.equal(dstMeta.crc32c, srcMeta.crc32c);
    assert.equal(dstMeta.md5Hash, srcMeta.md5Hash);
    assert.equal(dstMeta.contentType, 'text/plain');
    assert.equal(dstMeta.metadata?.['k'], 'v');
    assert.notEqual(dstMeta.generation, srcMeta.generation);
    assert.equal((await copy.download())[0].toString(), 'copy me');
    await h.storage.createBucket('other-bucket');
    const [moved] = await src.copy(h.storage.bucket('other-bucket').file('copied.txt'));
    assert.equal((await moved.download())[0].toString(), 'copy me');
    await assert.rejects(src.copy(bucket.file('copy/dst.txt'), { preconditionOpts: { ifGenerationMatch: 0 } }), (err) => statusOf(err) === 412);
  });

  it('delete answers 204, then the object is gone (404), exists() is false', async () => {
    const file = h.storage.bucket(BUCKET).file('delete-me.txt');
    await file.save('bye');
    assert.deepEqual(await file.exists(), [true]);
    await file.delete();
    assert.deepEqual(await file.exists(), [false]);
    await assert.rejects(file.download(), (err) => statusOf(err) === 404);
    await assert.rejects(file.delete(), (err) => statusOf(err) === 404);
  });

  it('buckets: create, get, list, duplicate is 409, unknown is 404', async () => {
    await h.storage.createBucket('made-by-test');
    const [meta] = await h.storage.bucket('made-by-test').getMetadata();
    assert.equal(meta.name, 'made-by-test');
    const [buckets] = await h.storage.getBuckets();
    assert.ok(buckets.some((b) => b.name === 'made-by-test'));
    assert.ok(buckets.some((b) => b.name === BUCKET));
    await assert.rejects(h.storage.createBucket('made-by-test'), (err) => statusOf(err) === 409);
    await assert.rejects(h.storage.bucket('no-such-bucket').getMetadata(), (err) => statusOf(err) === 404);
    assert.deepEqual(await h.storage.bucket('no-such-bucket').exists(), [false]);
  });
  it('concurrent create-only writes to one object: exactly one wins, the rest get 412', async () => {
    const file = h.storage.bucket(BUCKET).file('race.txt');
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => file.save(`writer ${i}`, { resumable: i % 2 === 0, preconditionOpts: { ifGenerationMatch: 0 } })),
    );
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(won.length, 1);
    assert.ok(lost.every((r) => statusOf(r.reason) === 412));
  });

  it('a client configured only by STORAGE_EMULATOR_HOST (paths without /storage/v1) works', async () => {
    const previous = process.env['STORAGE_EMULATOR_HOST'];
    process.env['STORAGE_EMULATOR_HOST'] = h.emu.url;
    try {
      const storage = new Storage({ projectId: PROJECT_ID });
      const file = storage.bucket(BUCKET).file('via-env.txt');
      await file.save('from env', { resumable: false });
      await file.save('from env, resumable');
      assert.equal((await file.download())[0].toString(), 'from env, resumable');
      const [files] = await storage.bucket(BUCKET).getFiles({ prefix: 'via-env' });
      assert.deepEqual(files.map((f) => f.name), ['via-env.txt']);
    } finally {
      if (previous === undefined) delete process.env['STORAGE_EMULATOR_HOST'];
      else process.env['STORAGE_EMULATOR_HOST'] = previous;
    }
  });
});
