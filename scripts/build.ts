/**
 * Production bundles, one folder per deployable:
 *   dist/functions/   index.js (+ map) and a package.json for Cloud Functions' build
 *   dist/gpu-worker/  main.js and pipeline-thread-entry.js (+ maps) and a package.json, copied into the worker image
 *
 * Our code and the pure-JavaScript dependencies are bundled; a few packages stay external
 * (see EXTERNALS) and are listed, with the versions from the root package.json, in the
 * generated package.json so the platform (or the Dockerfile) installs them.
 *
 *   npx tsx scripts/build.ts                      every target; a missing entry fails the build
 *   npx tsx scripts/build.ts --only=gpu-worker    one target (the worker image does this)
 *
 * `--strict` is accepted and changes nothing (a missing entry always fails): the worker's
 * Dockerfile still passes it.
 */
import { build } from 'esbuild';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface Target {
  name: 'functions' | 'gpu-worker';
  entry: string;
  outfile: string;
  /** More entry modules, each bundled beside `outfile` under its own name (a worker thread's). */
  extraEntries?: readonly string[];
  externals: readonly string[];
}

/**
 * Why each package stays out of the bundle:
 * - sharp, onnxruntime-node: native addons, loaded from their own folders.
 * - @google-cloud/pubsub, @google-cloud/storage: google-gax reads .proto/.json files next to
 *   its own modules (path.join(__dirname, ...)), which a bundle does not carry.
 * - @google-cloud/functions-framework: the platform starts it from node_modules and it then
 *   imports our index.js; bundling a second copy would register functions on the wrong one.
 */
const GAX_CLIENTS = ['@google-cloud/pubsub', '@google-cloud/storage'] as const;

export const TARGETS: readonly Target[] = [
  {
    name: 'functions',
    entry: 'functions/index.ts',
    outfile: 'dist/functions/index.js',
    externals: ['@google-cloud/functions-framework', ...GAX_CLIENTS, 'sharp'],
  },
  {
    name: 'gpu-worker',
    entry: 'gpu-worker/main.ts',
    outfile: 'dist/gpu-worker/main.js',
    // main.ts starts the pipeline thread from the file beside it.
    extraEntries: ['gpu-worker/pipeline-thread-entry.ts'],
    externals: ['onnxruntime-node', 'sharp', ...GAX_CLIENTS],
  },
];

// Bundled CommonJS dependencies call require() and read __dirname; an ES module has neither.
const ESM_SHIMS = [
  "import { createRequire as __petcutoutCreateRequire } from 'node:module';",
  "import { fileURLToPath as __petcutoutFileURLToPath } from 'node:url';",
  "import { dirname as __petcutoutDirname } from 'node:path';",
  'const require = __petcutoutCreateRequire(import.meta.url);',
  'const __filename = __petcutoutFileURLToPath(import.meta.url);',
  'const __dirname = __petcutoutDirname(__filename);',
].join('\n');

export class BuildError extends Error {
  override readonly name = 'BuildError';
}

interface RootPackage {
  name: string;
  version: string;
  dependencies?: Record<string, string>;
}

/**
 * The package.json shipped next to a bundle: ESM, and the externals at the versions the
 * root package.json asks for.
 * @example deployPackageJson(root, TARGETS[0]).dependencies['sharp'] === root.dependencies.sharp
 */
export function deployPackageJson(root: RootPackage, target: Target): Record<string, unknown> & { dependencies: Record<string, string> } {
  const dependencies: Record<string, string> = {};
  const missing: string[] = [];
  for (const name of [...target.externals].sort()) {
    const version = root.dependencies?.[name];
    if (version === undefined) missing.push(name);
    else dependencies[name] = version;
  }
  if (missing.length > 0) {
    throw new BuildError(`${target.name}: external package${missing.length === 1 ? '' : 's'} ${missing.join(', ')} not in the root package.json dependencies`);
  }
  return {
    name: `${root.name}-${target.name}`,
    version: root.version,
    private: true,
    type: 'module',
    main: target.outfile.split('/').pop(),
    engines: { node: '20.x' }, // the runtime is nodejs20; an open range could let a buildpack pick a newer Node
    dependencies,
  };
}

export interface Options {
  only: Set<string> | undefined;
}

/** @example parseArgs(['--only=gpu-worker']) -> { only: Set {'gpu-worker'} } */
export function parseArgs(argv: readonly string[]): Options {
  let only: Set<string> | undefined;
  for (const arg of argv) {
    if (arg === '--strict') continue;
    else if (arg.startsWith('--only=')) {
      only = new Set(arg.slice('--only='.length).split(',').filter(Boolean));
      const unknown = [...only].filter((n) => !TARGETS.some((t) => t.name === n));
      if (unknown.length > 0) throw new BuildError(`unknown target ${unknown.join(', ')}; expected ${TARGETS.map((t) => t.name).join(', ')}`);
    } else throw new BuildError(`unknown argument ${arg}; usage: build.ts [--only=${TARGETS.map((t) => t.name).join(',')}]`);
  }
  return { only };
}

async function buildTarget(root: string, rootPkg: RootPackage, target: Target): Promise<void> {
  const outfile = join(root, target.outfile);
  const outdir = join(outfile, '..');
  const pkg = deployPackageJson(rootPkg, target); // before deleting anything: fail early
  rmSync(outdir, { recursive: true, force: true }); // no stale files from an earlier layout
  mkdirSync(outdir, { recursive: true });
  await build({
    absWorkingDir: root,
    entryPoints: [target.entry, ...(target.extraEntries ?? [])].map((e, i) => ({ in: e, out: basename(i === 0 ? outfile : e).replace(/\.[jt]s$/, '') })),
    outdir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    external: [...target.externals],
    banner: { js: ESM_SHIMS },
    sourcemap: 'linked',
    legalComments: 'linked',
    logLevel: 'warning',
  });
  writeFileSync(join(outdir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  console.log(`built ${target.outfile} (externals: ${target.externals.join(', ')})`);
}

/** Build the selected targets; returns the exit code. */
export async function run(root: string, options: Options): Promise<number> {
  const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as RootPackage;
  const selected = TARGETS.filter((t) => options.only === undefined || options.only.has(t.name));
  // Every entry must exist before anything is deleted or built: a half build is no build.
  const missing = selected.filter((t) => !existsSync(join(root, t.entry)));
  for (const t of missing) console.error(`build: missing entry ${t.entry}: ${t.name} cannot be built`);
  if (missing.length > 0) return 1;
  for (const t of selected) await buildTarget(root, rootPkg, t);
  return 0;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    process.exitCode = await run(resolve(import.meta.dirname, '..'), parseArgs(process.argv.slice(2)));
  } catch (err) {
    // esbuild has already printed its diagnostics; ours are one line.
    console.error(err instanceof BuildError ? `build: ${err.message}` : err);
    process.exitCode = 1;
  }
}
