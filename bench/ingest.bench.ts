// Ingest figures (printed, not asserted): how long validation of a 12-megapixel JPEG takes,
// and how much memory the finalize handler needs for a 50 MB upload.
// Run: node --import tsx --expose-gc bench/ingest.bench.ts   (or `make bench` / scripts/bench.ts)
import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { createFinalizeHandler } from '../functions/finalize.js';
import type { Deps, Objects } from '../functions/deps.js';
import { validateImage, type ImageLimits } from '../functions/validate-image.js';
import { createLogger } from '../shared/logger.js';
import { createStatusStore, PreconditionFailedError, type DocObjects, type DocStat } from '../shared/status-store.js';

const MB = 1024 * 1024;
const LIMITS: ImageLimits = { maxBytes: 50 * MB, minSidePx: 64, maxSidePx: 16_384, maxPixels: 50_000_000 };
const RUNS = 30;
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});

function stats(ms: number[]): string {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;
  return `min ${q(0).toFixed(1)} ms, median ${q(0.5).toFixed(1)} ms, p95 ${q(0.95).toFixed(1)} ms`;
}

async function validationTime(): Promise<void> {
  const file = new URL('../test/fixtures/photos/raccoon-12mp.jpg', import.meta.url);
  const body = readFileSync(file);
  const meta = await sharp(body).metadata();
  const candidate = { body, size: body.length, declaredType: 'image/jpeg', contentIsAuthoritative: false };
  for (let i = 0; i < 3; i++) await validateImage(candidate, LIMITS);
  const ms: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t = performance.now();
    const v = await validateImage(candidate, LIMITS);
    ms.push(performance.now() - t);
    if (!v.ok) throw new Error(`the 12 MP photo was rejected: ${v.message}`);
  }
  console.log(`validateImage, raccoon-12mp.jpg (${meta.width}x${meta.height}, ${(body.length / MB).toFixed(2)} MiB), ${RUNS} runs: ${stats(ms)}`);
}

class MemDocs implements DocObjects {
  private docs = new Map<string, { body: Buffer; stat: DocStat }>();
  private gen = 1;
  async stat(name: string) {
    return this.docs.get(name)?.stat;
  }
  async read(name: string) {
    return this.docs.get(name);
  }
  async write(name: string, body: Buffer, ifGenerationMatch: string) {
    if ((this.docs.get(name)?.stat.generation ?? '0') !== ifGenerationMatch) throw new PreconditionFailedError('412');
    const stat = { generation: String(this.gen++), metageneration: '1', labels: {} };
    this.docs.set(name, { body, stat });
    return stat;
  }
  async setLabels() {}
}

async function noiseImage(kind: 'png' | 'jpeg', targetBytes: number, side = Math.ceil(Math.sqrt(targetBytes / 3))): Promise<Buffer> {
  // Random pixels barely compress, so the file size tracks the pixel count.
  const raw = Buffer.allocUnsafe(side * side * 3);
  for (let i = 0; i < raw.length; i += 4) raw.writeUInt32LE((Math.random() * 0xffffffff) >>> 0, Math.min(i, raw.length - 4));
  const img = sharp(raw, { raw: { width: side, height: side, channels: 3 } });
  return kind === 'png' ? img.png({ compressionLevel: 1 }).toBuffer() : img.jpeg({ quality: 100, chromaSubsampling: '4:4:4' }).toBuffer();
}

async function finalizePeak(kind: 'png' | 'jpeg'): Promise<void> {
  const target = 48 * MB;
  let body = await noiseImage(kind, target);
  // One correction step lands close to the target whatever the codec's bytes per pixel.
  body = await noiseImage(kind, target, Math.floor(Math.sqrt((target / body.length) * (await sharp(body).metadata()).width ** 2)));
  const meta = await sharp(body).metadata();
  const objects: Objects = {
    // A copy, as a real download allocates the bytes anew.
    read: async () => ({ body: Buffer.from(body), truncated: false }),
    liveGeneration: async () => '1',
    signedUrl: async () => 'https://example.invalid/',
  };
  const deps: Deps = {
    objects,
    publisher: { publish: async () => '1' },
    statusStore: createStatusStore(new MemDocs()),
    clock: { now: () => new Date() },
    logger: createLogger({ component: 'bench', level: 'silent' }),
  };
  const handle = createFinalizeHandler(deps, { uploadsBucket: 'uploads-bkt', jobsTopic: 'jobs', completionsTopic: 'completions', limits: LIMITS });
  gc();
  await new Promise((r) => setTimeout(r, 100));
  const base = process.memoryUsage().rss;
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 2);
  const t = performance.now();
  const outcome = await handle({
    id: 'bench',
    type: 'google.cloud.storage.object.v1.finalized',
    data: { bucket: 'uploads-bkt', name: `uploads/${'ab'.repeat(16)}/original`, generation: '1', size: String(body.length), contentType: `image/${kind}` },
  });
  const elapsed = performance.now() - t;
  clearInterval(timer);
  peak = Math.max(peak, process.memoryUsage().rss);
  console.log(
    `finalize, ${(body.length / MB).toFixed(1)} MiB ${kind.toUpperCase()} (${meta.width}x${meta.height}): outcome ${outcome}, ${elapsed.toFixed(0)} ms, ` +
      `RSS before ${(base / MB).toFixed(0)} MiB, peak ${(peak / MB).toFixed(0)} MiB (+${((peak - base) / MB).toFixed(0)} MiB)`,
  );
}

console.log(`node ${process.version}, sharp ${sharp.versions.sharp} / libvips ${sharp.versions.vips}, ${availableParallelism()} CPUs, sharp concurrency ${sharp.concurrency()}`);
await validationTime();
await finalizePeak('jpeg');
await finalizePeak('png');
