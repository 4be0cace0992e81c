/**
 * The worker service's figures, printed as one table:
 *  1. tiny model: latency from the end of the signed PUT to the completion event, 2.5 MP
 *     photo, 4 concurrent uploads (p50, p99), through localcloud and real processes;
 *  2. the same with the cache warm (identical photo), for comparison;
 *  3. ISNet: time from process start to /readyz 200, under tsx and as the production bundle
 *     (the default rule, and with a warm-up run before ready), and the first inference of a
 *     fresh session against the next ones (why CPU readiness does not wait for a warm-up);
 *  4. ISNet: worker throughput against bare `session.run` in the same run (before and after);
 *  5. worker RSS over many jobs (tiny model; ISNet for fewer jobs, CPU-bound here).
 * Arguments (all optional): --rounds=10 (latency rounds of 4) --rss-jobs=300 --isnet-jobs=16
 * --segments=2 --segment-jobs=24 (the ISNet backlog measure, each segment between bare runs; short segments are dominated by the first job's latency)
 * --only=tiny|isnet|bundle|kill --breakdown=off (the per-segment latency rows) --kill-trials=3.
 *  6. (`--only=kill`, or the whole bench) SIGKILL of a worker holding 3 jobs, a new worker on
 *     the same subscription: time from the kill to each job's redelivery (its `processing` on
 *     the new worker), the delivery attempt it came with, and the time to `succeeded`.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import ort from 'onnxruntime-node';
import sharp from 'sharp';
import { loadModel, type LoadedModel } from '../gpu-worker/model/load.js';
import { ModelConfig } from '../gpu-worker/model/config.js';
import { modelOptions } from '../gpu-worker/config.js';
import { parseConfig } from '../shared/config.js';
import { statusObjectName } from '../shared/paths.js';
import { JobStatus } from '../schemas/status.js';
import { uploadLikeABrowser } from '../test/localcloud/browser.js';
import { Stack } from '../test/localcloud/stack.js';
import { run as build } from '../scripts/build.js';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const ROUNDS = Number(args.get('rounds') ?? 10);
const RSS_JOBS = Number(args.get('rss-jobs') ?? 300);
const ISNET_JOBS = Number(args.get('isnet-jobs') ?? 16);
const BREAKDOWN = args.get('breakdown') !== 'off';
/** The ISNet backlog measure: segments of jobs, each between two bare measurements. */
const SEGMENTS = Number(args.get('segments') ?? 2);
const SEGMENT_JOBS = Number(args.get('segment-jobs') ?? 24);
const SEGMENT_BARE_RUNS = 4;
const CONCURRENT = 4;
const rows: Array<[string, string, string]> = [];
const row = (what: string, value: string, aim = ''): void => void rows.push([what, value, aim]);
/** Machine CPU per 2.5 MP job with the tiny model (everything but inference), from the tiny section. */
let nonModelCpuPerJob: number | undefined;

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] ?? NaN;
};
const rssMb = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
};

let base25: Promise<Buffer> | undefined;

/**
 * A ~2.5 MP JPEG (1920x1300) cut from the 12 MP raccoon, so the pipeline has real work, made
 * unique per seed by a JPEG comment segment (COM, 0xFFFE) right after SOI: the md5 differs, so
 * the content cache never answers, and the pixels are the same for every job. (A tweak of one
 * pixel does not do it: JPEG quantisation swallowed most of them, and 50 seeds gave 16 files.)
 */
async function photo25(seed: number): Promise<Buffer> {
  base25 ??= sharp('test/fixtures/photos/raccoon-12mp.jpg').resize(1920, 1300, { fit: 'cover' }).jpeg({ quality: 90 }).toBuffer();
  const jpeg = await base25;
  const text = Buffer.from(`petcutout bench ${seed}`, 'latin1');
  const com = Buffer.alloc(4);
  com.writeUInt16BE(0xfffe, 0);
  com.writeUInt16BE(text.length + 2, 2);
  return Buffer.concat([jpeg.subarray(0, 2), com, text, jpeg.subarray(2)]);
}

interface Sample {
  jobId: string;
  putDoneAt: number;
  receivedAt: number;
}

async function latencyRounds(stack: Stack, rounds: number, bytesFor: (i: number) => Promise<Buffer>, concurrent = CONCURRENT): Promise<number[]> {
  return (await latencySamples(stack, rounds, bytesFor, concurrent)).map((s) => s.receivedAt - s.putDoneAt);
}

/** Busy core-seconds of the whole machine so far (/proc/stat: all but idle and iowait). */
function busyCoreSeconds(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return (total - (f[3] ?? 0) - (f[4] ?? 0)) / 100; // USER_HZ is 100 on Linux
}

/**
 * CPU seconds (user + system) used so far by every live process on the machine, grouped by
 * what it is in this stack, so the bench can say where a job's machine CPU goes.
 */
function cpuByProcess(): Map<string, number> {
  const out = new Map<string, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const seconds = (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      const label =
        Number(entry) === process.pid ? 'this process (uploads, event subscriber, in-process Storage emulator and Eventarc bridge)'
        : /java/.test(cmd) ? 'Pub/Sub emulator (java)'
        : /gpu-worker/.test(cmd) ? 'worker'
        : /functions-framework|functions\//.test(cmd) ? 'functions (4 processes)'
        : 'everything else';
      out.set(label, (out.get(label) ?? 0) + seconds);
    } catch {
      // gone between the listing and the read
    }
  }
  return out;
}

async function latencySamples(stack: Stack, rounds: number, bytesFor: (i: number) => Promise<Buffer>, concurrent = CONCURRENT): Promise<Sample[]> {
  const latencies: Sample[] = [];
  let n = 0;
  for (let r = 0; r < rounds; r++) {
    const inputs = await Promise.all(Array.from({ length: concurrent }, () => bytesFor(n++)));
    const done = await Promise.all(
      inputs.map(async (bytes) => {
        const up = await uploadLikeABrowser(stack.functions.createUpload.url, bytes, 'image/jpeg', { outputs: ['cutout', 'mask', 'bw'] });
        const ev = await stack.completions.waitFor(up.jobId, 120_000);
        if (ev.event.data.outcome !== 'succeeded') throw new Error(`job ${up.jobId} ${ev.event.data.outcome}`);
        return { jobId: up.jobId, putDoneAt: up.putDoneAt, receivedAt: ev.receivedAt };
      }),
    );
    latencies.push(...done);
  }
  return latencies;
}

async function tinySection(): Promise<void> {
  const stack = await Stack.start({ logLevel: 'warn', workerEnv: { CACHE_ENABLED: 'true', WORKER_CONCURRENCY: '4' }, tinyModel: { size: 64 } });
  try {
    const worker = stack.worker;
    if (!worker) throw new Error('no worker');
    await latencyRounds(stack, 1, photo25); // warm every process and connection
    // Inputs made first, so the machine's busy time below is the system's (and the uploads').
    const photos = await Promise.all(Array.from({ length: ROUNDS * CONCURRENT }, (_, i) => photo25(1000 + i)));
    const busy0 = busyCoreSeconds();
    const byProcess0 = cpuByProcess();
    const coldSamples = await latencySamples(stack, ROUNDS, async (i) => photos[i]!);
    const cpuPerJob = (busyCoreSeconds() - busy0) / coldSamples.length;
    const byProcess = [...cpuByProcess()].map(([k, v]) => [k, (v - (byProcess0.get(k) ?? 0)) / coldSamples.length] as const).sort((a, b) => b[1] - a[1]);
    nonModelCpuPerJob = cpuPerJob;
    const cold = coldSamples.map((s) => s.receivedAt - s.putDoneAt);
    row(`tiny: PUT end -> event, p50 (${cold.length} jobs, ${CONCURRENT} at a time)`, `${pct(cold, 50).toFixed(0)} ms`, '< 400 ms');
    row('tiny: PUT end -> event, p99', `${pct(cold, 99).toFixed(0)} ms`, '< 1000 ms');
    // What the aim runs into here: every process (emulators, functions, worker, this client)
    // shares the cores, so 4 jobs arriving together need 4 x this / cores of wall time at best.
    const cores = availableParallelism();
    row('tiny:   machine CPU per job, all processes (busy core-s / jobs)', `${(cpuPerJob * 1000).toFixed(0)} ms`);
    for (const [what, seconds] of byProcess) if (seconds >= 0.001) row(`tiny:     of which ${what}`, `${(seconds * 1000).toFixed(0)} ms`);
    row(`tiny:   => ${CONCURRENT} jobs at once need >= ${CONCURRENT} x that / ${cores} cores`, `${((CONCURRENT * cpuPerJob * 1000) / cores).toFixed(0)} ms`);
    if (BREAKDOWN) await breakdown(stack, coldSamples);
    const singleSamples = await latencySamples(stack, ROUNDS, (i) => photo25(3000 + i), 1);
    const single = singleSamples.map((s) => s.receivedAt - s.putDoneAt);
    row(`tiny: PUT end -> event, one at a time, p50 / p99 (${single.length} jobs)`, `${pct(single, 50).toFixed(0)} / ${pct(single, 99).toFixed(0)} ms`);
    if (BREAKDOWN) await breakdown(stack, singleSamples, 'tiny:   one at a time:');
    const same = await photo25(7);
    const warm = await latencyRounds(stack, Math.max(2, Math.floor(ROUNDS / 2)), async () => same);
    row('tiny: PUT end -> event, cache hit, p50', `${pct(warm, 50).toFixed(0)} ms`);

    // Baseline from this run: every job rendering at once (RENDER_CONCURRENCY=4, as before the
    // first-come-first-served render gate), same rounds, new photos.
    await stack.stopWorkers();
    await (await stack.startWorker({ RENDER_CONCURRENCY: String(CONCURRENT) })).waitReady();
    await latencyRounds(stack, 1, (i) => photo25(8900 + i));
    const allAtOnce = await latencyRounds(stack, ROUNDS, (i) => photo25(9000 + i));
    row(`tiny:   baseline, all ${CONCURRENT} rendered at once (RENDER_CONCURRENCY=${CONCURRENT}): PUT end -> event, p50 / p99`, `${pct(allAtOnce, 50).toFixed(0)} / ${pct(allAtOnce, 99).toFixed(0)} ms`);
    await stack.stopWorkers();
    const rssWorker = await stack.startWorker();
    await rssWorker.waitReady();

    // RSS over many jobs: sampled after each batch of CONCURRENT.
    const samples: number[] = [rssMb(rssWorker.pid)];
    const t0 = performance.now();
    let n = 0;
    while (n < RSS_JOBS) {
      await latencyRounds(stack, 1, () => photo25(5000 + n++));
      n += CONCURRENT - 1;
      samples.push(rssMb(rssWorker.pid));
    }
    const tenth = Math.max(1, Math.floor(samples.length / 10));
    const early = Math.max(...samples.slice(tenth, 2 * tenth));
    const late = Math.max(...samples.slice(-tenth));
    row(`tiny: worker RSS over ${n} jobs (start / after 10% / end)`, `${samples[0]?.toFixed(0)} / ${early.toFixed(0)} / ${late.toFixed(0)} MB`, 'flat');
    row(`tiny: growth from 10% to end`, `${(((late - early) / early) * 100).toFixed(1)} %`, '< 5 %');
    row('tiny: throughput (jobs/s, 2.5 MP, 3 outputs)', ((n / (performance.now() - t0)) * 1000).toFixed(2));
  } finally {
    await stack.stop();
  }
}

/**
 * Where the latency goes, per segment (p50 / p99 over the jobs), from clocks of one machine:
 * the bridge's delivery records, the status document's transitions and the worker's stage
 * timings. Segment ends are taken where each process stamps them, so they add up to about
 * the total (a status transition is stamped just before its write).
 */
async function breakdown(stack: Stack, samples: Sample[], prefix = 'tiny:  '): Promise<void> {
  const deliveries = stack.cloud.deliveries();
  const segments = new Map<string, number[]>();
  const bytesOut: number[] = [];
  let cacheHits = 0;
  const add = (name: string, ms: number | undefined): void => {
    if (ms === undefined || Number.isNaN(ms)) return;
    segments.set(name, [...(segments.get(name) ?? []), ms]);
  };
  for (const s of samples) {
    const rec = deliveries.find((d) => d.subject === `objects/uploads/${s.jobId}/original` && d.outcome === 'delivered');
    const [raw] = await stack.storage.bucket(stack.cloud.resultsBucket).file(statusObjectName(s.jobId)).download();
    const doc = JobStatus.parse(JSON.parse(raw.toString('utf8')));
    const at = (state: string): number | undefined => {
      const t = doc.transitions.find((x) => x.state === state)?.at;
      return t ? Date.parse(t) : undefined;
    };
    const posted = rec?.attempts.at(-1)?.at;
    const queued = at('queued');
    const processing = at('processing');
    const succeeded = at('succeeded');
    add('a. PUT end -> bridge POSTs the finalize event (notification + pull)', posted !== undefined ? posted - s.putDoneAt : undefined);
    add('b. onObjectFinalized: POST -> queued stamp (read, validate)', posted !== undefined && queued !== undefined ? queued - posted : undefined);
    add('c. queued stamp -> function answered (create, publish, label)', rec && queued !== undefined ? rec.finishedAt - queued : undefined);
    add('d. function answered -> worker claims (jobs delivery + status read)', rec && processing !== undefined ? processing - rec.finishedAt : undefined);
    const t = doc.timingsMs ?? {};
    for (const stage of ['download', 'cache', 'decode', 'preprocess', 'queue', 'infer', 'render_queue', 'postprocess', 'refine', 'encode', 'upload']) add(`e. worker ${stage}`, t[stage]);
    add('e. worker total (download -> outputs written)', t['total']);
    add('f. claimed -> succeeded stamp (claim write + worker total)', processing !== undefined && succeeded !== undefined ? succeeded - processing : undefined);
    add('g. succeeded stamp -> event received (CAS write, publish, delivery)', succeeded !== undefined ? s.receivedAt - succeeded : undefined);
    bytesOut.push((doc.outputs ?? []).reduce((sum, o) => sum + o.size, 0));
    if (doc.cacheHit) cacheHits++;
  }
  row(`${prefix} cache hits among these jobs (each upload is a distinct file)`, `${cacheHits} of ${samples.length}`, '0');
  for (const [name, xs] of segments) row(`${prefix} ${name}`, `${pct(xs, 50).toFixed(0)} / ${pct(xs, 99).toFixed(0)} ms`, 'p50 / p99');
  row(`${prefix} outputs written per job (cutout + mask + bw PNG)`, `${(pct(bytesOut, 50) / 1e6).toFixed(1)} MB`);
}

/** Bare `session.run` throughput (batch 1, the embedded ISNet's static batch) over `runs` runs. */
async function bareRate(model: LoadedModel, runs: number): Promise<number> {
  const { name, width, height } = model.spec.input;
  const input = new ort.Tensor('float32', new Float32Array(3 * width * height).fill(0.1), [1, 3, height, width]);
  const t0 = performance.now();
  for (let i = 0; i < runs; i++) await model.session.run({ [name]: input });
  return runs / ((performance.now() - t0) / 1000);
}

/**
 * The worker's own rate, apart from ingest: jobs uploaded and validated while no worker runs
 * (an operator's batch, or a backlog after an outage), then a worker started on the queue.
 * Measured from its /readyz 200 (it starts consuming then) to the last completion event.
 */
async function backlogRun(stack: Stack, jobs: number, seedBase: number): Promise<{ rate: number; steady: number }> {
  const inputs = await Promise.all(Array.from({ length: jobs }, (_, i) => photo25(seedBase + i)));
  const ids = await Promise.all(inputs.map(async (bytes) => (await uploadLikeABrowser(stack.functions.createUpload.url, bytes, 'image/jpeg', { outputs: ['cutout', 'mask', 'bw'] })).jobId));
  const results = stack.storage.bucket(stack.cloud.resultsBucket);
  for (const id of ids) {
    for (let tries = 0; ; tries++) {
      const [raw] = await results.file(statusObjectName(id)).download().catch(() => [undefined]);
      if (raw && JobStatus.parse(JSON.parse(raw.toString('utf8'))).state === 'queued') break;
      if (tries > 600) throw new Error(`job ${id} never queued`);
      await new Promise((res) => setTimeout(res, 100));
    }
  }
  const worker = await stack.startWorker();
  await worker.waitReady(300_000);
  const readyAt = Date.now();
  const times = await Promise.all(
    ids.map(async (id) => {
      const ev = await stack.completions.waitFor(id, 3_600_000);
      if (ev.event.data.outcome !== 'succeeded') throw new Error(`job ${id} ${ev.event.data.outcome}`);
      return ev.receivedAt;
    }),
  );
  await worker.stop();
  times.sort((a, b) => a - b);
  const last = times.at(-1) ?? readyAt;
  return { rate: ids.length / ((last - readyAt) / 1000), steady: (times.length - 1) / ((last - (times[0] ?? readyAt)) / 1000) };
}

async function isnetSection(): Promise<void> {
  const stack = await Stack.start({ logLevel: 'warn', startWorker: false, tinyModel: false, workerEnv: { CACHE_ENABLED: 'false', WORKER_CONCURRENCY: '4' } });
  // Bare inference in the same run, before and after the worker's (the worker not running,
  // so it has the cores to itself): this shared machine's speed drifts by 10-20 % over a
  // minute, so one measurement on one side of the worker run is not a fair baseline.
  const model = await loadModel({ ...modelOptions(parseConfig(ModelConfig, {})), provider: 'cpu' });
  try {
    // Why CPU readiness does not wait for a warm-up: the first run of a fresh session against the next ones.
    const f0 = performance.now();
    await bareRate(model, 1);
    const firstRunMs = performance.now() - f0;
    // Enough runs for a stable rate; a long RSS run (--isnet-jobs=300) need not repeat them all.
    const bareRuns = Math.min(ISNET_JOBS, 8);
    const bareBefore = await bareRate(model, bareRuns);

    const worker = await stack.startWorker();
    const readyMs = await worker.waitReady(300_000);
    row('isnet: process start -> /readyz 200 (default: on CPU ready once loaded, no warm-up run)', `${(readyMs / 1000).toFixed(2)} s`, '< 3 s');
    const metrics = await (await fetch(`${worker.url}/metrics`)).text();
    const load = /^petcutout_worker_model_load_seconds ([0-9.]+)$/m.exec(metrics)?.[1];
    if (load) row('isnet:   of which model load (verify, session, graph check)', `${Number(load).toFixed(2)} s`);

    const inputs = await Promise.all(Array.from({ length: ISNET_JOBS }, (_, i) => photo25(9000 + i)));
    const samples = [rssMb(worker.pid)];
    const eventTimes: number[] = [];
    const t0 = performance.now();
    await Promise.all(
      inputs.map(async (bytes) => {
        const up = await uploadLikeABrowser(stack.functions.createUpload.url, bytes, 'image/jpeg', { outputs: ['cutout', 'mask', 'bw'] });
        const ev = await stack.completions.waitFor(up.jobId, 3_600_000);
        if (ev.event.data.outcome !== 'succeeded') throw new Error(`job ${up.jobId} ${ev.event.data.outcome}`);
        eventTimes.push(ev.receivedAt);
        samples.push(rssMb(worker.pid));
      }),
    );
    const workerSeconds = (performance.now() - t0) / 1000;
    const workerRate = ISNET_JOBS / workerSeconds;
    // Steady state: completions after the first, over the time since the first; leaves out
    // the ramp (uploads, validation, the first job's CPU stages) that no overlap can hide.
    eventTimes.sort((a, b) => a - b);
    const steadyRate = (eventTimes.length - 1) / (((eventTimes.at(-1) ?? 0) - (eventTimes[0] ?? 0)) / 1000);
    const tenth = Math.max(1, Math.floor(samples.length / 10));
    const early = Math.max(...samples.slice(tenth, 2 * tenth));
    const late = Math.max(...samples.slice(-tenth));
    row(`isnet: worker RSS over ${ISNET_JOBS} jobs (start / after 10% / end)`, `${samples[0]?.toFixed(0)} / ${early.toFixed(0)} / ${late.toFixed(0)} MB`, ISNET_JOBS >= 100 ? 'flat' : '');
    // Over a few jobs the first ones' peak dominates; the flat check needs a long run (--isnet-jobs=300).
    if (ISNET_JOBS >= 100) row('isnet: growth from 10% to end', `${(((late - early) / early) * 100).toFixed(1)} %`, '< 5 %');
    await worker.stop();

    const bareAfter = await bareRate(model, bareRuns);
    const bare = (bareBefore + bareAfter) / 2;
    row(`isnet: worker throughput (${ISNET_JOBS} jobs, 2.5 MP, 3 outputs, first PUT -> last event)`, `${workerRate.toFixed(3)} img/s`);
    row('isnet: worker throughput, steady state (between completions)', `${steadyRate.toFixed(3)} img/s`);
    row(`isnet: bare session.run throughput, batch 1, ${bareRuns} runs before / after the worker's`, `${bareBefore.toFixed(3)} / ${bareAfter.toFixed(3)} img/s`);
    row('isnet: first session.run of a fresh session / mean of the next ones', `${(firstRunMs / 1000).toFixed(2)} s / ${(1 / bareBefore).toFixed(2)} s`);
    row('isnet: worker / bare (mean of before and after): whole run; steady state', `${(workerRate / bare).toFixed(2)}; ${(steadyRate / bare).toFixed(2)}`, '>= 0.9');
    // The worker alone on a queued backlog, in segments each measured against bare runs right
    // before and right after it (the worker stopped meanwhile): this host's speed drifts by
    // 10-20 % within minutes, more than the margin being measured.
    const ratios: { whole: number; steady: number }[] = [];
    let bareBeforeSegment = bareAfter;
    for (let s = 0; s < SEGMENTS; s++) {
      const r = await backlogRun(stack, SEGMENT_JOBS, 9500 + 100 * s);
      const bareAfterSegment = await bareRate(model, SEGMENT_BARE_RUNS);
      const base = (bareBeforeSegment + bareAfterSegment) / 2;
      ratios.push({ whole: r.rate / base, steady: r.steady / base });
      bareBeforeSegment = bareAfterSegment;
    }
    const spread = (xs: number[]): string => `${pct(xs, 50).toFixed(2)} (${Math.min(...xs).toFixed(2)}-${Math.max(...xs).toFixed(2)})`;
    row(
      `isnet: worker / bare, queued backlog, ${SEGMENTS} segments of ${SEGMENT_JOBS} jobs, each against bare runs just before and after: whole (ready -> last event); steady, median (range)`,
      `${spread(ratios.map((r) => r.whole))}; ${spread(ratios.map((r) => r.steady))}`,
      '>= 0.9',
    );
    if (nonModelCpuPerJob !== undefined) {
      // Not a bound: inference's busy core-seconds include onnxruntime's spin-waiting threads,
      // which yield to other work. It says how much CPU each job adds around the model here.
      row('isnet:   each job\'s other work on this machine (tiny rows, machine CPU per job)', `${nonModelCpuPerJob.toFixed(2)} core-s`);
    }
  } finally {
    await model.session.release();
    await stack.stop();
  }
}

/**
 * What the image runs: the esbuild bundle as the process entry (no tsx transpiling), in push
 * mode so no Pub/Sub is needed. Spawn -> /readyz 200, median of 3, with both readiness rules.
 */
async function bundleSection(): Promise<void> {
  const root = new URL('..', import.meta.url).pathname;
  if ((await build(root, { only: new Set(['gpu-worker']) })) !== 0) throw new Error('worker bundle did not build');
  for (const warm of ['auto', 'true']) {
    const times: number[] = [];
    for (let i = 0; i < 3; i++) {
      const port = 18_500 + i;
      const t0 = performance.now();
      const child = spawn(process.execPath, ['dist/gpu-worker/main.js'], {
        cwd: root,
        stdio: 'ignore',
        env: {
          PATH: process.env['PATH'], METADATA_SERVER_DETECTION: 'none', NODE_ENV: 'production', MALLOC_ARENA_MAX: '2',
          GOOGLE_CLOUD_PROJECT: 'petcutout-local', UPLOADS_BUCKET: 'uploads', RESULTS_BUCKET: 'results',
          STORAGE_EMULATOR_HOST: 'http://127.0.0.1:9', PUBSUB_EMULATOR_HOST: '127.0.0.1:9',
          WORKER_MODE: 'push', PORT: String(port), EXECUTION_PROVIDER: 'cpu', WARMUP_BEFORE_READY: warm,
        },
      });
      try {
        for (;;) {
          if (child.exitCode !== null) throw new Error(`bundle exited ${child.exitCode} before ready`);
          const r = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
          await r?.arrayBuffer();
          if (r?.status === 200) break;
          await new Promise((res) => setTimeout(res, 20));
        }
        times.push(performance.now() - t0);
      } finally {
        child.kill('SIGKILL');
        await new Promise((res) => (child.exitCode !== null ? res(undefined) : child.once('exit', res)));
      }
    }
    const label = warm === 'auto' ? 'default (auto: on CPU, ready once loaded)' : 'loaded and warmed (WARMUP_BEFORE_READY=true)';
    row(`isnet, production bundle: start -> /readyz 200, ${label}`, `${(pct(times, 50) / 1000).toFixed(2)} s`, '< 3 s');
  }
}

/**
 * Issue 17 item 8. The subscription has the jobs subscription's dead-letter limit (5) and no
 * retry policy: with one, the official emulator (0.8.20) can stop redelivering for good after
 * a kill (test/localcloud/README.md, "Known emulator gaps"), which is the emulator's defect, not the worker's.
 */
async function killSection(): Promise<void> {
  const trials = Number(args.get('kill-trials') ?? 3);
  const stack = await Stack.start({ logLevel: 'info', startWorker: false });
  try {
    const bytes = readFileSync(new URL('../test/fixtures/photos/opencv-squirrel_cls.jpg', import.meta.url));
    const maxAttempts = 5;
    for (let t = 1; t <= trials; t++) {
      const subscription = `${stack.cloud.names.jobsSubscription}-kill-bench-${t}-${Date.now().toString(36)}`;
      await stack.pubsub.createSubscription(stack.cloud.names.jobsTopic, subscription, {
        ackDeadlineSeconds: 60,
        deadLetterPolicy: { deadLetterTopic: stack.pubsub.topic(stack.cloud.names.deadLetterTopic).name, maxDeliveryAttempts: maxAttempts },
      });
      const doomed = await stack.startWorker({ JOBS_SUBSCRIPTION: subscription, DEBUG_JOB_DELAY_MS: '600000' });
      await doomed.waitReady();
      const jobIds = await Promise.all([0, 1, 2].map(async (i) => (await uploadLikeABrowser(stack.functions.createUpload.url, bytes, 'image/jpeg', { clientRef: `kill-bench-${t}-${i}` })).jobId));
      for (const jobId of jobIds) await doomed.waitForLog('job.processing', (e) => e['jobId'] === jobId, 1, 60_000);
      // Held a little, so the client has extended the leases it took at receipt.
      await new Promise((r) => setTimeout(r, 2000));
      doomed.kill('SIGKILL');
      const killedAt = Date.now();
      await doomed.waitExit();
      const next = await stack.startWorker({ JOBS_SUBSCRIPTION: subscription });
      const cells: string[] = [];
      for (const jobId of jobIds) {
        const done = await stack.completions.waitFor(jobId, 240_000).then(() => Date.now(), () => undefined);
        const picked = (await next.waitForLog('job.processing', (e) => e['jobId'] === jobId, 1, 5_000).catch(() => []))[0];
        const at = picked ? Date.parse(String(picked['time'])) : undefined;
        // A job whose deliveries went to the dead stream comes back as a republished message (attempt 1 again).
        const republished = next.events('delivery.republished').some((e) => e['jobId'] === jobId) ? ', republished' : '';
        cells.push(at === undefined ? 'not back in 240 s' : `${((at - killedAt) / 1000).toFixed(1)} s (attempt ${String(picked?.['deliveryAttempt'])}${republished}, done ${done === undefined ? '-' : ((done - killedAt) / 1000).toFixed(1)} s)`);
      }
      row(`kill ${t}: SIGKILL with 3 jobs held -> redelivered to a new worker`, cells.join('; '), `< 60 s, attempt < ${maxAttempts}`);
      await stack.stopWorkers();
    }
  } finally {
    await stack.stop();
  }
}

/**
 * Issue 16 item 5, `--only=preview` (or the whole bench): the preview comes first. Tiny
 * model, 2.5 MP photos, every output (cutout, mask, bw, preview): PUT end -> the status
 * carries the preview (the worker's `job.preview_shown` line, logged as the status write
 * returns, same machine clock) and PUT end -> completion event, one at a time and 4 at a time.
 */
async function previewSection(): Promise<void> {
  const stack = await Stack.start({ logLevel: 'info', workerEnv: { CACHE_ENABLED: 'false', WORKER_CONCURRENCY: String(CONCURRENT) }, tinyModel: { size: 64 } });
  try {
    const worker = stack.worker;
    if (!worker) throw new Error('no worker');
    await worker.waitReady();
    const run = async (concurrent: number, rounds: number, seed: number): Promise<{ preview: number[]; event: number[] }> => {
      const preview: number[] = [];
      const event: number[] = [];
      let n = seed;
      for (let r = 0; r < rounds; r++) {
        const inputs = await Promise.all(Array.from({ length: concurrent }, () => photo25(n++)));
        await Promise.all(
          inputs.map(async (bytes) => {
            const up = await uploadLikeABrowser(stack.functions.createUpload.url, bytes, 'image/jpeg', { outputs: ['cutout', 'mask', 'bw', 'preview'] });
            const ev = await stack.completions.waitFor(up.jobId, 120_000);
            if (ev.event.data.outcome !== 'succeeded') throw new Error(`job ${up.jobId} ${ev.event.data.outcome}`);
            const [shown] = await worker.waitForLog('job.preview_shown', (e) => e['jobId'] === up.jobId, 1, 5_000);
            preview.push(Date.parse(String(shown?.['time'])) - up.putDoneAt);
            event.push(ev.receivedAt - up.putDoneAt);
          }),
        );
      }
      return { preview, event };
    };
    await run(CONCURRENT, 1, 20_000); // warm every process and connection
    const one = await run(1, ROUNDS * 2, 21_000);
    row(`preview: PUT end -> preview in the status, one at a time, p50 / p99 (${one.preview.length} jobs, tiny, 2.5 MP)`, `${pct(one.preview, 50).toFixed(0)} / ${pct(one.preview, 99).toFixed(0)} ms`, 'p50 <= 300 ms');
    row('preview: PUT end -> completion event, one at a time, p50 / p99', `${pct(one.event, 50).toFixed(0)} / ${pct(one.event, 99).toFixed(0)} ms`);
    const four = await run(CONCURRENT, ROUNDS, 22_000);
    row(`preview: PUT end -> preview in the status, ${CONCURRENT} at a time, p50 / p99 (${four.preview.length} jobs)`, `${pct(four.preview, 50).toFixed(0)} / ${pct(four.preview, 99).toFixed(0)} ms`);
    row(`preview: PUT end -> completion event, ${CONCURRENT} at a time, p50 / p99`, `${pct(four.event, 50).toFixed(0)} / ${pct(four.event, 99).toFixed(0)} ms`);
  } finally {
    await stack.stop();
  }
}

async function main(): Promise<void> {
  const t0 = Date.now();
  const only = args.get('only');
  if (!only || only === 'tiny') await tinySection();
  if (!only || only === 'isnet') await isnetSection();
  if (!only || only === 'bundle') await bundleSection();
  if (!only || only === 'preview') await previewSection();
  if (!only || only === 'kill') await killSection();
  const w = [Math.max(...rows.map((r) => r[0].length)), Math.max(...rows.map((r) => r[1].length)), 8];
  console.log(`\nworker bench: ${availableParallelism()} cores, CPU provider, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
  console.log(`${'measure'.padEnd(w[0] ?? 0)} | ${'value'.padEnd(w[1] ?? 0)} | aim`);
  console.log(`${'-'.repeat(w[0] ?? 0)}-|-${'-'.repeat(w[1] ?? 0)}-|-${'-'.repeat(8)}`);
  for (const [a, b, c] of rows) console.log(`${a.padEnd(w[0] ?? 0)} | ${b.padEnd(w[1] ?? 0)} | ${c}`);
  process.exit(0);
}

await main();
