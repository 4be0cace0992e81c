// The storefront page server: its own origin, the right content types, `/` to the shop page,
// /config.json once the API is known, nothing outside the served directory.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startWebServer, type WebServer } from './web-server.js';

describe('web server', () => {
  let dir: string;
  let web: WebServer;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'web-server-'));
    await mkdir(join(dir, 'site', 'shop'), { recursive: true });
    await mkdir(join(dir, 'site', 'client'), { recursive: true });
    const files: Record<string, string> = {
      'shop/index.html': '<!doctype html><title>shop</title>',
      'shop/app.js': 'export {};',
      'client/index.mjs': 'export {};',
      'shop/style.css': 'body{}',
      'shop/logo.svg': '<svg xmlns="http://www.w3.org/2000/svg"/>',
      'shop/dot.png': '\x89PNG',
    };
    for (const [name, body] of Object.entries(files)) await writeFile(join(dir, 'site', name), body);
    await writeFile(join(dir, 'secret.txt'), 'outside');
    web = await startWebServer({ dir: join(dir, 'site') });
  });
  after(async () => {
    await web.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('listens on an origin of its own, named both ways', () => {
    assert.match(web.origin, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.deepEqual(web.origins, [web.origin, `http://localhost:${web.port}`]);
    assert.equal(web.url, `${web.origin}/`);
  });

  it('redirects / to the shop page, and a folder without its slash to the slash', async () => {
    const root = await fetch(web.url, { redirect: 'manual' });
    assert.equal(root.status, 302);
    assert.equal(root.headers.get('location'), '/shop/');
    const folder = await fetch(`${web.origin}/shop`, { redirect: 'manual' });
    assert.equal(folder.status, 301);
    assert.equal(folder.headers.get('location'), '/shop/');
    const page = await fetch(web.url);
    assert.equal(page.status, 200);
    assert.equal(await page.text(), '<!doctype html><title>shop</title>');
  });

  for (const [path, type] of [
    ['/shop/', 'text/html; charset=utf-8'],
    ['/shop/app.js', 'text/javascript; charset=utf-8'],
    ['/client/index.mjs', 'text/javascript; charset=utf-8'],
    ['/shop/style.css', 'text/css; charset=utf-8'],
    ['/shop/logo.svg', 'image/svg+xml'],
    ['/shop/dot.png', 'image/png'],
  ] as const) {
    it(`serves ${path} as ${type}, never cached`, async () => {
      const res = await fetch(`${web.origin}${path}`);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), type);
      assert.equal(res.headers.get('cache-control'), 'no-store');
      await res.arrayBuffer();
    });
  }

  it('answers HEAD without a body and refuses other methods', async () => {
    const head = await fetch(`${web.origin}/shop/app.js`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), '10');
    const post = await fetch(`${web.origin}/shop/app.js`, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
  });

  it('serves nothing outside its directory, and 404 for what is not there', async () => {
    for (const path of ['/..%2fsecret.txt', '/shop/..%2f..%2fsecret.txt', '/%2e%2e/secret.txt', '/nope.html', '/client/']) {
      const res = await fetch(`${web.origin}${path}`);
      assert.equal(res.status, 404, path);
      assert.doesNotMatch(await res.text(), /outside/);
    }
    assert.equal((await fetch(`${web.origin}/%E0%A4%A`)).status, 400);
  });

  it('serves /config.json once the API is known (503 with Retry-After before)', async () => {
    const early = await fetch(`${web.origin}/config.json`);
    assert.equal(early.status, 503);
    assert.equal(early.headers.get('retry-after'), '1');
    await early.arrayBuffer();
    web.setConfig({ createUploadUrl: 'http://127.0.0.1:1/', getStatusUrl: 'http://127.0.0.1:2/' });
    const res = await fetch(`${web.origin}/config.json`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'application/json; charset=utf-8');
    assert.deepEqual(await res.json(), { createUploadUrl: 'http://127.0.0.1:1/', getStatusUrl: 'http://127.0.0.1:2/' });
  });
});
