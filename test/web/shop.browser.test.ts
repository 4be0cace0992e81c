/**
 * The demo shop page in a real browser (Debian's Chromium, headless, driven by playwright-core)
 * through the whole local stack with the tiny model, from a page on its own origin, so every
 * request is a real cross-origin one: preflights, XHR upload progress, polling, and results
 * read back through a canvas. Issue 15.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type CDPSession, type Page } from 'playwright-core';
import { Stack } from '../localcloud/stack.js';
import { startWebServer, type WebServer } from '../localcloud/web-server.js';

const REPO = join(import.meta.dirname, '..', '..');
const PHOTOS = join(REPO, 'test', 'fixtures', 'photos');
const OUTPUT = join(REPO, 'test-output');
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
// Small, so an oversized file is cheap to make; the functions read it from this environment.
const MAX_UPLOAD_BYTES = 3 * 1024 * 1024;
// A JPEG signature followed by garbage: passes the type check, fails decoding on the server.
const CORRUPT_JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00]), Buffer.alloc(4000, 0x5a)]);

/** One photo's card as test/web/probes.js reads it. */
interface Card {
  name: string;
  state: string | undefined;
  errorCode: string | undefined;
  upload: string | undefined;
  bar: number;
  stage: string;
  message: string;
  next: string;
  problemShown: boolean;
  previewNoteShown: boolean;
  shownAlt: string;
  downloads: string[];
}

interface SeenRequest {
  url: string;
  method: string;
  type: string | undefined;
  status?: number;
  failed?: string;
  vary?: string;
}

/** Every request the page makes, preflights included (Playwright's own events omit them), via CDP. */
async function recordNetwork(page: Page): Promise<{ requests: Map<string, SeenRequest>; session: CDPSession }> {
  const session = await page.context().newCDPSession(page);
  const requests = new Map<string, SeenRequest>();
  session.on('Network.requestWillBeSent', (e) => {
    // A preflight shares no id with its request; Chromium reports it with type "Preflight".
    requests.set(e.requestId, { url: e.request.url, method: e.request.method, type: e.type });
  });
  session.on('Network.responseReceived', (e) => {
    const r = requests.get(e.requestId) ?? { url: e.response.url, method: '?', type: e.type };
    const vary = Object.entries(e.response.headers).find(([k]) => k.toLowerCase() === 'vary')?.[1];
    requests.set(e.requestId, { ...r, status: e.response.status, type: r.type ?? e.type, ...(vary !== undefined && { vary }) });
  });
  session.on('Network.loadingFailed', (e) => {
    const r = requests.get(e.requestId);
    if (r) r.failed = e.corsErrorStatus?.corsError ?? e.errorText;
  });
  await session.send('Network.enable');
  return { requests, session };
}

/** Console errors and uncaught exceptions, all of them: a status not created yet is a 202, not a 404. */
function collectConsoleErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    const line = `${m.text()} (${m.location().url})`;
    if (m.type() === 'error') errors.push(line);
  });
  page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
  return errors;
}

// Skipped without Chromium on a developer's machine; in CI (CI set) a missing browser fails.
const SKIP = existsSync(CHROMIUM) || process.env['CI'] ? false : `no Chromium at ${CHROMIUM} (scripts/ensure-system-deps.sh installs it)`;

describe('the shop page in Chromium', { timeout: 600_000, skip: SKIP }, () => {
  let stack: Stack;
  let browser: Browser;
  let web: WebServer;

  before(async () => {
    // The functions inherit this process's environment (test/localcloud/functions-framework.ts).
    process.env['MAX_UPLOAD_BYTES'] = String(MAX_UPLOAD_BYTES);
    stack = await Stack.start({ web: { dir: join(REPO, 'web') } });
    if (!stack.web) throw new Error('the stack serves no web page');
    web = stack.web;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
    await mkdir(OUTPUT, { recursive: true });
  });
  after(async () => {
    await browser?.close();
    await stack?.stop();
  });

  async function openShop(url: string): Promise<{ page: Page; errors: string[]; requests: Map<string, SeenRequest> }> {
    const page = await browser.newPage({ viewport: { width: 900, height: 900 } });
    const errors = collectConsoleErrors(page);
    const { requests } = await recordNetwork(page);
    await page.addInitScript({ path: join(import.meta.dirname, 'probes.js') });
    await page.goto(url);
    await page.waitForSelector('#drop[data-ready="true"]', { timeout: 15_000 });
    return { page, errors, requests };
  }

  it('uploads two photos through the file input and shows their cut-outs', async () => {
    const { page, errors, requests } = await openShop(web.url);
    await page.evaluate('shopProbes.watchUploadProgress()');
    await page.setInputFiles('#photos', [join(PHOTOS, 'opencv-squirrel_cls.jpg'), join(PHOTOS, 'tux-dog.png')]);
    await page.waitForFunction('shopProbes.allSettled(2)', undefined, { timeout: 180_000 });
    // A preview whose download was still running when the job ended lands now, if at all.
    await page.waitForTimeout(1_000);

    const cards = (await page.evaluate('shopProbes.cards()')) as Card[];
    assert.equal(cards.length, 2);
    for (const card of cards) {
      assert.equal(card.state, 'succeeded', JSON.stringify(card));
      assert.equal(card.previewNoteShown, false, `a finished job still says "preview": ${JSON.stringify(card)}`);
      assert.doesNotMatch(card.shownAlt, /preview/, `the preview replaced the full-size cut-out: ${JSON.stringify(card)}`);
      assert.equal(card.upload, '100');
      assert.equal(card.bar, 100);
      assert.equal(card.downloads.length, 3, 'cut-out, black and white, mask');
    }
    const progress = (await page.evaluate('shopProbes.progress')) as Record<string, number[]>;
    for (const name of ['opencv-squirrel_cls.jpg', 'tux-dog.png']) {
      const seen = progress[name] ?? [];
      assert.equal(seen.at(-1), 100, `${name}: ${seen.join(',')}`);
      assert.ok(seen.every((p, i) => i === 0 || p >= seen[i - 1]!), `${name} progress went backwards: ${seen.join(',')}`);
    }

    // Preflights: the signed PUT to Storage, the JSON POST and the If-None-Match polls to the functions.
    const all = [...requests.values()];
    const preflights = all.filter((r) => r.type === 'Preflight' || r.method === 'OPTIONS');
    for (const [what, base] of [
      ['Storage', stack.cloud.storageUrl],
      ['createUpload', stack.functions.createUpload.url],
      ['getStatus', stack.functions.getStatus.url],
    ] as const) {
      const list = preflights.filter((r) => r.url.startsWith(base.replace(/\/$/, '')));
      assert.ok(list.length > 0, `no preflight to ${what} (${base}); saw ${JSON.stringify(preflights)}`);
      for (const p of list) assert.ok(p.status !== undefined && p.status >= 200 && p.status < 300 && !p.failed, `${what} preflight: ${JSON.stringify(p)}`);
    }
    const puts = all.filter((r) => r.method === 'PUT' && r.type !== 'Preflight');
    assert.equal(puts.length, 2);
    for (const p of puts) assert.equal(p.status, 200, JSON.stringify(p));

    // The cut-outs shown have transparent pixels, read back through a canvas; the b/w images load.
    const pixels = (await page.evaluate('shopProbes.cutoutPixels()')) as { width: number; transparent: number; opaque: number }[];
    assert.equal(pixels.length, 2);
    for (const p of pixels) {
      assert.ok(p.width > 0, JSON.stringify(p));
      assert.ok(p.transparent > 0, `no transparent pixel in the cut-out: ${JSON.stringify(p)}`);
    }
    const bw = (await page.evaluate('shopProbes.bwImages()')) as { complete: boolean; width: number }[];
    assert.equal(bw.length, 2);
    for (const b of bw) assert.ok(b.complete && b.width > 0, JSON.stringify(bw));

    // The signed result URL itself is CORS-readable, even after the browser cached a copy
    // fetched without CORS (an <img> without crossorigin): Storage answers Vary: Origin.
    const href = cards[0]!.downloads[0]!;
    assert.ok(href.startsWith(stack.cloud.storageUrl), href);
    const cors = (await page.evaluate(`shopProbes.corsRead(${JSON.stringify(href)})`)) as { status: number; type: string; width: number };
    assert.equal(cors.status, 200);
    assert.equal(cors.type, 'cors');
    assert.ok(cors.width > 0);
    // Vary is not a header a page may read cross-origin; the browser's own record shows it.
    const resultLoads = [...requests.values()].filter((r) => r.url === href && r.method === 'GET' && r.status === 200);
    assert.ok(resultLoads.length > 0 && resultLoads.every((r) => r.vary === 'Origin'), JSON.stringify(resultLoads));

    await page.screenshot({ path: join(OUTPUT, 'shop.png'), fullPage: true });
    // At phone width nothing sticks out sideways.
    await page.setViewportSize({ width: 390, height: 844 });
    assert.ok((await page.evaluate('document.documentElement.scrollWidth')) as number <= 390, 'the page scrolls sideways at 390 px');
    await page.screenshot({ path: join(OUTPUT, 'shop-phone.png'), fullPage: true });
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('shows a damaged file its rejection in plain words', async () => {
    const { page, errors } = await openShop(web.url);
    await page.setInputFiles('#photos', { name: 'broken.jpg', mimeType: 'image/jpeg', buffer: CORRUPT_JPEG });
    await page.waitForFunction('shopProbes.allSettled(1)', undefined, { timeout: 120_000 });
    const [card] = (await page.evaluate('shopProbes.cards()')) as Card[];
    assert.equal(card?.state, 'rejected', JSON.stringify(card));
    assert.match(card.errorCode ?? '', /^rejected:/);
    assert.ok(card.problemShown);
    assert.ok(card.message.length > 10, JSON.stringify(card));
    assert.match(card.next, /another photo/);
    await page.screenshot({ path: join(OUTPUT, 'shop-rejected.png'), fullPage: true });
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('refuses a file over the size limit before any upload', async () => {
    const { page, errors, requests } = await openShop(web.url);
    await page.setInputFiles('#photos', { name: 'huge.jpg', mimeType: 'image/jpeg', buffer: Buffer.concat([CORRUPT_JPEG, Buffer.alloc(MAX_UPLOAD_BYTES)]) });
    await page.waitForFunction('shopProbes.allSettled(1)', undefined, { timeout: 15_000 });
    const [card] = (await page.evaluate('shopProbes.cards()')) as Card[];
    assert.equal(card?.errorCode, 'too_large', JSON.stringify(card));
    assert.match(card.message, /up to 3 MB/);
    const sent = [...requests.values()].filter((r) => r.method === 'POST' || r.method === 'PUT');
    assert.deepEqual(sent, [], 'no ticket asked for and nothing uploaded');
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('names a page outside the allowlist a CORS problem, without hanging', async () => {
    // The same page on another port: an origin neither the functions nor the buckets allow.
    const stranger = await startWebServer({ dir: join(REPO, 'web'), config: { createUploadUrl: stack.functions.createUpload.url, getStatusUrl: stack.functions.getStatus.url } });
    try {
      const { page } = await openShop(stranger.url);
      const started = Date.now();
      await page.setInputFiles('#photos', join(PHOTOS, 'tux-dog.png'));
      await page.waitForFunction('shopProbes.allSettled(1)', undefined, { timeout: 30_000 });
      const [card] = (await page.evaluate('shopProbes.cards()')) as Card[];
      assert.equal(card?.errorCode, 'cors', JSON.stringify(card));
      assert.match(card.message, /not available on this site/);
      assert.ok(Date.now() - started < 30_000);
      await page.close();
    } finally {
      await stranger.stop();
    }
  });
});
