/**
 * `make demo`: the whole pipeline on this machine. Starts localcloud (Pub/Sub emulator,
 * Storage emulator, Eventarc bridge), the four functions under functions-framework and the
 * worker on the embedded ISNet model; uploads the sample photos the way a browser does
 * (createUpload, then a signed PUT), follows each job by polling getStatus and by listening
 * to completion events, saves the outputs under demo-output/ and prints a table: each job's
 * outcome, its quality verdict (score and flags) and its outputs, with rejection and failure
 * reasons whole below it. Beside each cutout it writes `<name>.check.png`: the cutout over a
 * mid-grey and over a green background side by side, so a person can judge halos at a glance.
 *
 * DEMO_VERBOSE=1 shows every process's logs.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import type { StatusResponse } from '../schemas/status.js';
import { pollUntilTerminal, uploadLikeABrowser } from '../test/localcloud/browser.js';
import { Stack } from '../test/localcloud/stack.js';

const OUT_DIR = 'demo-output';
const PHOTOS_DIR = 'test/fixtures/photos';
const SAMPLES: Array<{ file: string; what: string }> = [
  { file: 'skimage-chelsea-cat.png', what: 'cat' },
  { file: 'opencv-chicky_512.png', what: 'dog' },
  { file: 'tux-dog.png', what: 'dog (cut-out on white)' },
  { file: 'opencv-squirrel_cls.jpg', what: 'squirrel' },
  { file: 'scipy-face-raccoon.jpg', what: 'raccoon' },
];
// A JPEG signature followed by noise: accepted as image/jpeg by the browser, rejected on finalize.
const CORRUPT = { file: 'corrupt.jpg', what: 'deliberately corrupt', bytes: Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0]), Buffer.alloc(4096, 0x5a)]) };
const CONTENT_TYPES: Record<string, string> = { '.png': 'image/png', '.jpg': 'image/jpeg', '.jpeg': 'image/jpeg', '.webp': 'image/webp' };
const EXTENSIONS: Record<string, string> = { 'image/png': 'png', 'image/webp': 'webp' };

interface Row {
  jobId: string;
  file: string;
  outcome: string;
  seconds: number;
  quality: string;
  outputs: string;
  /** Why it was rejected or failed, whole (printed below the table). */
  reason?: string;
}

/** The backgrounds of the check image: halos show as a light rim on one and a dark or coloured rim on the other. */
const CHECK_BACKGROUNDS = [
  { r: 128, g: 128, b: 128 },
  { r: 0, g: 177, b: 64 },
];

const verbose = process.env.DEMO_VERBOSE === '1';
const say = (line: string): void => void process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const t0 = Date.now();
  say('demo: starting localcloud, the functions and the worker (ISNet on CPU) ...');
  const stack = await Stack.start({ tinyModel: false, echo: verbose, logLevel: verbose ? 'info' : 'warn', startWorker: false, workerEnv: { WORKER_CONCURRENCY: '4' } });
  let failed = false;
  try {
    const worker = await stack.startWorker();
    const readyMs = await worker.waitReady(300_000);
    say(`demo: everything is up after ${((Date.now() - t0) / 1000).toFixed(1)} s (worker ready ${(readyMs / 1000).toFixed(1)} s after its start)`);
    await rm(OUT_DIR, { recursive: true, force: true });
    await mkdir(OUT_DIR, { recursive: true });

    const inputs = [...(await Promise.all(SAMPLES.map(async (s) => ({ ...s, bytes: await readFile(join(PHOTOS_DIR, s.file)) })))), CORRUPT];
    const rows = await Promise.all(
      inputs.map(async (input): Promise<Row> => {
        const contentType = CONTENT_TYPES[extname(input.file)] ?? 'application/octet-stream';
        const upload = await uploadLikeABrowser(stack.functions.createUpload.url, input.bytes, contentType, { clientRef: `demo:${input.file}` });
        say(`  uploaded ${input.file.padEnd(26)} (${input.what}) -> job ${upload.jobId}`);
        // Both ways a client can follow a job: the completion event and polling getStatus.
        const [{ event }, status] = await Promise.all([stack.completions.waitFor(upload.jobId, 600_000), pollUntilTerminal(stack.functions.getStatus.url, upload.jobId, 600_000, 500)]);
        const seconds = (stack.completions.forJob(upload.jobId)[0]?.receivedAt ?? Date.now()) - upload.putDoneAt;
        say(`  event   ${event.id} (${input.file})`);
        const ok = status.state === 'succeeded';
        const outputs = ok ? await download(status, input.file) : `${status.error?.code ?? '?'} (reason below)`;
        const quality = status.quality ? `${status.quality.score.toFixed(2)} ${status.quality.flags.join(',') || '-'}` : '';
        const reason = ok ? undefined : `${status.error?.code ?? '?'}: ${status.error?.message ?? ''}${status.error?.detail ? ` [detail: ${status.error.detail}]` : ''}`;
        return { jobId: upload.jobId, file: input.file, outcome: status.state, seconds: seconds / 1000, quality, outputs, ...(reason ? { reason } : {}) };
      }),
    );
    say('');
    printTable(rows);
    const reasons = rows.filter((r) => r.reason);
    if (reasons.length) {
      say('\nwhy:');
      for (const r of reasons) say(`  ${r.file}: ${r.reason}`);
    }
    say('\nquality: score 0-1; a flag means a person should look before printing (uncertain_alpha, subject_cut_by_frame, several_subjects, small_subject)');
    say(`outputs are in ${OUT_DIR}/ (one folder per photo; cutout.check.png: the cutout over grey and green, for halos); total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const expected = rows.filter((r) => (r.file === CORRUPT.file ? r.outcome === 'rejected' : r.outcome === 'succeeded')).length;
    failed = expected !== rows.length;
  } catch (err) {
    failed = true;
    say(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
    if (stack.worker && !verbose) say(`--- worker log (last lines) ---\n${stack.worker.output().split('\n').slice(-30).join('\n')}`);
  } finally {
    say('demo: shutting down ...');
    await stack.stop();
  }
  process.exit(failed ? 1 : 0);
}

/** Fetches each output through its signed GET URL, as the storefront would. */
async function download(status: StatusResponse, file: string): Promise<string> {
  const dir = join(OUT_DIR, basename(file, extname(file)));
  await mkdir(dir, { recursive: true });
  const parts: string[] = [];
  for (const output of status.outputs ?? []) {
    const url = status.downloads?.[output.kind]?.url;
    if (!url) continue;
    const res = await fetch(url);
    if (!res.ok) throw new Error(`download of ${output.name} answered ${res.status}`);
    const bytes = Buffer.from(await res.arrayBuffer());
    await writeFile(join(dir, `${output.kind}.${EXTENSIONS[output.contentType] ?? 'bin'}`), bytes);
    if (output.kind === 'cutout') await writeFile(join(dir, 'cutout.check.png'), await checkImage(bytes));
    parts.push(`${output.kind} ${output.width}x${output.height} ${Math.round(output.size / 1024)}k`);
  }
  return parts.join(', ');
}

/**
 * The cutout composited over each CHECK_BACKGROUNDS colour, side by side, at most 1200 px
 * wide per panel (enough to see a fringe without a 12 MP file per photo).
 */
async function checkImage(cutout: Buffer): Promise<Buffer> {
  const meta = await sharp(cutout).metadata();
  const scale = Math.min(1, 1200 / (meta.width ?? 1));
  const width = Math.max(1, Math.round((meta.width ?? 1) * scale));
  const height = Math.max(1, Math.round((meta.height ?? 1) * scale));
  const small = scale < 1 ? await sharp(cutout).resize(width, height).png().toBuffer() : cutout;
  const panels = await Promise.all(CHECK_BACKGROUNDS.map((background) => sharp(small).flatten({ background }).png().toBuffer()));
  return sharp({ create: { width: width * panels.length, height, channels: 3, background: { r: 255, g: 255, b: 255 } } })
    .composite(panels.map((input, i) => ({ input, left: i * width, top: 0 })))
    .png()
    .toBuffer();
}

function printTable(rows: Row[]): void {
  const header = ['job', 'file', 'outcome', 'seconds', 'quality', 'outputs'];
  const cells = rows.map((r) => [r.jobId.slice(0, 8), r.file, r.outcome, r.seconds.toFixed(2), r.quality, r.outputs]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: string[]): string => c.map((v, i) => (i === 3 ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0))).join(' | ');
  say(line(header));
  say(widths.map((w) => '-'.repeat(w)).join('-|-'));
  for (const c of cells) say(line(c));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) await main();
