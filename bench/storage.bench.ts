// Storage emulator benchmark: upload/download throughput of a 50 MB object through the
// official client on loopback, and the emulator's memory around downloads of 10 MB vs 50 MB
// objects (it streams, so memory must not grow with object size).
// Run: node --import tsx bench/storage.bench.ts
// The emulator runs in a child process so its memory is measured apart from the client's.
import { execFile, fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Storage } from '@google-cloud/storage';

const MB = 1024 * 1024;
const PROJECT_ID = 'bench';
const BUCKET = 'bench';
const ROUNDS = 3;

interface Mem {
  rss: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  peakRss: number;
}

type ChildMsg = { type: 'ready'; url: string } | { type: 'mem'; mem: Mem } | { type: 'cpu'; micros: number };

// ---------------- child: the emulator ----------------
async function child(dataDir: string): Promise<void> {
  const { startStorageEmulator } = await import('../test/localcloud/storage/index.js');
  const emu = await startStorageEmulator({ dataDir, projectId: PROJECT_ID, buckets: [{ name: BUCKET }] });
  let peakRss = 0;
  // Sampling catches the peak while a download is in flight, which a single read after would miss.
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }, 5);
  process.on('message', (msg: { type: string }) => {
    if (msg.type === 'mem') {
      const gc = (globalThis as { gc?: () => void }).gc;
      if (gc) gc();
      const m = process.memoryUsage();
      process.send!({ type: 'mem', mem: { rss: m.rss, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers, peakRss } });
      peakRss = 0;
    } else if (msg.type === 'cpu') {
      const cpu = process.cpuUsage();
      process.send!({ type: 'cpu', micros: cpu.user + cpu.system });
    } else if (msg.type === 'stop') {
      clearInterval(sampler);
      void emu.stop().then(() => process.exit(0));
    }
  });
  process.send!({ type: 'ready', url: emu.url });
}

// ---------------- parent: the client ----------------
function request(proc: ChildProcess, type: string): Promise<ChildMsg> {
  return new Promise((resolve) => {
    proc.once('message', (m: ChildMsg) => resolve(m));
    proc.send({ type });
  });
}

async function memory(proc: ChildProcess): Promise<Mem> {
  const m = await request(proc, 'mem');
  if (m.type !== 'mem') throw new Error('unexpected reply from emulator process');
  return m.mem;
}

async function cpuMicros(proc: ChildProcess): Promise<number> {
  const m = await request(proc, 'cpu');
  if (m.type !== 'cpu') throw new Error('unexpected reply from emulator process');
  return m.micros;
}

const mb = (bytes: number): string => (bytes / MB).toFixed(1);

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

/** Streams a download to nowhere, so the client holds no copy of the object. */
const execFileAsync = promisify(execFile);

async function curl(args: string[]): Promise<void> {
  await execFileAsync('curl', ['-sS', '-f', '-o', '/dev/null', ...args]);
}

async function drainDownload(storage: Storage, name: string, validation: 'crc32c' | 'md5' | false = false): Promise<void> {
  await pipeline(
    storage.bucket(BUCKET).file(name).createReadStream({ validation }),
    new Writable({ write: (_c, _e, done) => done() }),
  );
}

async function parent(): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'storage-bench-'));
  const proc = fork(fileURLToPath(import.meta.url), ['--child', dataDir], {
    execArgv: ['--import', 'tsx', '--expose-gc'],
  });
  try {
    const ready = await new Promise<ChildMsg>((resolve) => proc.once('message', (m: ChildMsg) => resolve(m)));
    if (ready.type !== 'ready') throw new Error('emulator did not start');
    const storage = new Storage({ apiEndpoint: ready.url, projectId: PROJECT_ID });
    const bucket = storage.bucket(BUCKET);

    const big = randomBytes(50 * MB);
    const small = big.subarray(0, 10 * MB);
    const rows: string[][] = [];
    const measure = async (label: string, fn: () => Promise<unknown>): Promise<void> => {
      const secs: number[] = [];
      for (let i = 0; i < ROUNDS; i++) secs.push(await timed(fn));
      const sorted = [...secs].sort((a, b) => a - b);
      rows.push([label, (50 / sorted[Math.floor(sorted.length / 2)]!).toFixed(0), (50 / sorted[0]!).toFixed(0)]);
    };

    // curl (another process, C, no hashing) isolates the emulator's own cost best.
    const bigFile = `${dataDir}.upload-50mb.bin`;
    await writeFile(bigFile, big);
    // CPU seconds the emulator spends per object: MB per CPU-second is what one idle core would
    // sustain, independent of how busy the (shared) machine is.
    const cpuRows: string[][] = [];
    const cpuCost = async (label: string, fn: () => Promise<unknown>): Promise<void> => {
      const before = await cpuMicros(proc);
      for (let i = 0; i < ROUNDS; i++) await fn();
      const secs = (await cpuMicros(proc)) - before;
      const perObject = secs / 1e6 / ROUNDS;
      cpuRows.push([label, (perObject * 1000).toFixed(0), (50 / perObject).toFixed(0)]);
    };
    await cpuCost('media upload (curl)', () => curl(['-X', 'POST', '--data-binary', `@${bigFile}`, `${ready.url}/upload/storage/v1/b/${BUCKET}/o?uploadType=media&name=cpu.bin`]));
    await cpuCost('alt=media download (curl)', () => curl([`${ready.url}/b/${BUCKET}/o/cpu.bin?alt=media`]));
    await cpuCost('save() resumable (client)', () => bucket.file('cpu2.bin').save(big, { validation: false }));
    await cpuCost('save() multipart (client)', () => bucket.file('cpu2.bin').save(big, { validation: false, resumable: false }));
    await cpuCost('createReadStream() (client)', () => drainDownload(storage, 'cpu2.bin'));
    console.log('\nEmulator CPU cost per 50 MB object (user+system, mean of 3)');
    printTable(['operation', 'emulator CPU ms', 'MB per CPU-second'], cpuRows);

    await measure('curl: media upload', () => curl(['-X', 'POST', '--data-binary', `@${bigFile}`, '-H', 'Content-Type: application/octet-stream', `${ready.url}/upload/storage/v1/b/${BUCKET}/o?uploadType=media&name=curl.bin`]));
    await measure('curl: alt=media download', () => curl([`${ready.url}/b/${BUCKET}/o/curl.bin?alt=media`]));
    // Raw HTTP isolates the emulator: no client-side hashing, just our streaming + hashing + disk.
    const uploadUrl = `${ready.url}/upload/storage/v1/b/${BUCKET}/o?uploadType=media&name=raw.bin`;
    await measure('raw HTTP: media upload (fetch)', async () => {
      const res = await fetch(uploadUrl, { method: 'POST', body: big, headers: { 'Content-Type': 'application/octet-stream' } });
      if (res.status !== 200) throw new Error(`upload failed: ${res.status}`);
      await res.arrayBuffer();
    });
    await measure('raw HTTP: alt=media download (fetch)', async () => {
      const res = await fetch(`${ready.url}/b/${BUCKET}/o/raw.bin?alt=media`);
      await res.arrayBuffer();
    });
    // The official client, as production code uses it. Its pure-JS CRC32C (default validation)
    // is the slowest stage, so each validation mode gets its own row.
    for (const validation of [false, 'md5', 'crc32c'] as const) {
      const v = validation === false ? 'validation off' : `validation ${validation}`;
      await measure(`client: save() resumable, ${v}`, () => bucket.file('big.bin').save(big, { validation }));
      await measure(`client: save() multipart, ${v}`, () => bucket.file('big.bin').save(big, { validation, resumable: false }));
      await measure(`client: download(), ${v}`, () => bucket.file('big.bin').download({ validation }));
      await measure(`client: createReadStream(), ${v}`, () => drainDownload(storage, 'big.bin', validation));
    }
    await measure('client: save() resumable, 8 MiB chunks, validation crc32c', () => bucket.file('big.bin').save(big, { chunkSize: 8 * MB }));

    console.log(`\n50 MB object on loopback, ${cpus().length} CPUs, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')} (median and best of ${ROUNDS})`);
    printTable(['operation', 'MB/s median', 'MB/s best'], rows);

    // Memory: fresh objects, then repeated downloads of each size.
    await bucket.file('ten.bin').save(small, { resumable: false });
    await bucket.file('fifty.bin').save(big, { resumable: false });
    const memRows: string[][] = [];
    const base = await memory(proc);
    memRows.push(['baseline (after uploads, gc)', mb(base.rss), mb(base.heapUsed), mb(base.arrayBuffers), '-']);
    for (const [label, name] of [
      ['after 5 x 10 MB downloads', 'ten.bin'],
      ['after 5 x 50 MB downloads', 'fifty.bin'],
      ['after 5 x 10 MB downloads (again)', 'ten.bin'],
    ] as const) {
      for (let i = 0; i < 5; i++) await drainDownload(storage, name);
      const m = await memory(proc);
      memRows.push([label, mb(m.rss), mb(m.heapUsed), mb(m.arrayBuffers), mb(m.peakRss)]);
    }
    console.log('\nEmulator process memory (MB; rss/heap/arrayBuffers after gc, peak rss sampled every 5 ms during the downloads)');
    printTable(['phase', 'rss', 'heapUsed', 'arrayBuffers', 'peak rss'], memRows);
  } finally {
    proc.send({ type: 'stop' });
    await new Promise((resolve) => proc.once('exit', resolve));
    await rm(dataDir, { recursive: true, force: true });
    await rm(`${dataDir}.upload-50mb.bin`, { force: true });
  }
}

function printTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

if (process.argv[2] === '--child') {
  await child(process.argv[3]!);
} else {
  await parent();
}
