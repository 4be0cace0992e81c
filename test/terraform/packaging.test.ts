/**
 * Packaging, checked without Docker: the worker's Dockerfile (read as instructions), its
 * build context, and scripts/build.ts (pure parts, plus a real bundle of the functions).
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BuildError, TARGETS, deployPackageJson, parseArgs, run } from '../../scripts/build.js';
import { buildTinyModel, writeModelFile } from '../support/tiny-model.js';

const ROOT = join(import.meta.dirname, '..', '..');
const WORKER = TARGETS.find((t) => t.name === 'gpu-worker');
const FUNCTIONS = TARGETS.find((t) => t.name === 'functions');
const rootPkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; dependencies: Record<string, string> };

interface Instruction {
  stage: string;
  keyword: string;
  args: string;
}

/** Dockerfile -> instructions with their stage name; continuation lines joined, comments dropped. */
function parseDockerfile(text: string): { args: Map<string, string>; instructions: Instruction[] } {
  const logical = text
    .split('\n')
    .filter((line) => !/^\s*#/.test(line))
    .join('\n')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  const args = new Map<string, string>();
  const instructions: Instruction[] = [];
  let stage = '';
  for (const line of logical) {
    const [, keyword = '', rest = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const upper = keyword.toUpperCase();
    if (upper === 'ARG' && stage === '') {
      const [name = '', value = ''] = rest.split('=', 2);
      args.set(name, value);
    }
    if (upper === 'FROM') stage = /\bAS\s+(\S+)\s*$/i.exec(rest)?.[1] ?? `stage${instructions.length}`;
    instructions.push({ stage, keyword: upper, args: rest });
  }
  return { args, instructions };
}

const dockerfile = parseDockerfile(readFileSync(join(ROOT, 'gpu-worker', 'Dockerfile'), 'utf8'));
const inStage = (stage: string) => dockerfile.instructions.filter((i) => i.stage === stage);
const runtime = inStage('runtime');
const builder = inStage('builder');

describe('gpu-worker/Dockerfile', () => {
  it('is multi-stage: a node:20 builder and a CUDA 12 + cuDNN runtime', () => {
    const froms = dockerfile.instructions.filter((i) => i.keyword === 'FROM');
    assert.deepEqual(
      froms.map((f) => f.stage),
      ['builder', 'runtime'],
    );
    const image = (from: Instruction) => from.args.replace(/--platform=\S+\s+/, '').replace(/\s+AS\s+\S+$/i, '').replace(/^\$\{(\w+)\}$/, (_, name: string) => dockerfile.args.get(name) ?? '');
    assert.match(image(froms[0] as Instruction), /^node:20\b/);
    assert.match(image(froms[1] as Instruction), /^nvidia\/cuda:12\.[\d.]+-cudnn-runtime-ubuntu/);
  });

  it('installs onnxruntime-node WITH its CUDA provider (the install script reads the flag as "force")', () => {
    const env = builder.find((i) => i.keyword === 'ENV' && /ONNXRUNTIME_NODE_INSTALL=/.test(i.args));
    assert.ok(env, 'the builder must set ONNXRUNTIME_NODE_INSTALL (the repository .npmrc skips the CUDA download)');
    const value = /ONNXRUNTIME_NODE_INSTALL=(\S+)/.exec(env.args)?.[1] ?? '';
    const envIndex = builder.indexOf(env);
    const npmCi = builder.findIndex((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args));
    assert.ok(npmCi > envIndex, 'npm ci must run after the flag is set');
    // Ask onnxruntime-node's own install script how it reads the flag: true means "install".
    const utils = createRequire(import.meta.url)(join(ROOT, 'node_modules/onnxruntime-node/script/install-utils.js')) as { parseInstallFlag(): unknown };
    const saved = process.env.ONNXRUNTIME_NODE_INSTALL;
    try {
      process.env.ONNXRUNTIME_NODE_INSTALL = value;
      assert.equal(utils.parseInstallFlag(), true, `ONNXRUNTIME_NODE_INSTALL=${value} does not force the CUDA provider install`);
    } finally {
      if (saved === undefined) delete process.env.ONNXRUNTIME_NODE_INSTALL;
      else process.env.ONNXRUNTIME_NODE_INSTALL = saved;
    }
    const copies = builder.filter((i) => i.keyword === 'COPY').map((i) => i.args);
    assert.ok(!copies.some((c) => c.includes('.npmrc')), '.npmrc must not reach the image');
  });

  it('bundles the worker with scripts/build.ts, strictly', () => {
    assert.ok(builder.some((i) => i.keyword === 'RUN' && /scripts\/build\.ts\b.*--strict/.test(i.args) && /--only=gpu-worker\b/.test(i.args)));
  });

  it("checks at build time, as the runtime user, that the worker's entry module imports", () => {
    assert.ok(WORKER);
    assert.equal(WORKER.entry, 'gpu-worker/main.ts');
    assert.equal(WORKER.outfile, 'dist/gpu-worker/main.js');
    const workdir = runtime.filter((i) => i.keyword === 'WORKDIR').at(-1)?.args;
    assert.equal(workdir, '/app');
    const imported = (args: string) => [...args.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)].map((m) => m[1]);
    const check = runtime.findIndex((i) => i.keyword === 'RUN' && imported(i.args).includes(`/app/${WORKER.outfile}`));
    assert.ok(check >= 0, `no RUN in the runtime stage imports /app/${WORKER.outfile}`);
    const copied = runtime.findIndex((i) => i.keyword === 'COPY' && i.args.includes('--from=builder') && i.args.includes('dist/gpu-worker'));
    const user = runtime.findIndex((i) => i.keyword === 'USER');
    assert.ok(copied >= 0 && copied < check, 'the bundle must be copied before the check');
    assert.ok(user >= 0 && user < check, 'the check must run as the runtime user');
    const cmd = runtime.find((i) => i.keyword === 'CMD');
    assert.ok(cmd?.args.includes(WORKER.outfile), 'CMD must start the module that was checked');
    // The pipeline thread's entry is its own file in the bundle folder: checked the same way.
    assert.ok((WORKER.extraEntries ?? []).length > 0, 'the pipeline thread has its own entry');
    for (const extra of WORKER.extraEntries ?? []) assert.ok(imported(runtime[check]?.args ?? '').includes(`/app/dist/gpu-worker/${basename(extra, '.ts')}.js`), `the check must import ${extra}'s bundle`);
    // The externals (native addons) are imported explicitly, whatever the bundle does lazily.
    assert.match(runtime[check]?.args ?? '', /dist\/gpu-worker\/package\.json.*Object\.keys\(pkg\.dependencies\).*await import\(name\)/);
  });

  it('checks at build time that the CUDA provider library is present and links', () => {
    const check = runtime.find((i) => i.keyword === 'RUN' && i.args.includes('libonnxruntime_providers_cuda.so'));
    assert.ok(check, 'no CUDA provider check in the runtime stage');
    assert.match(check.args, /\btest -s libonnxruntime_providers_cuda\.so\b/);
    assert.match(check.args, /\bldd\b.*not found/);
  });

  it('limits glibc malloc arenas (RSS stays flat over many images)', () => {
    const env = runtime.filter((i) => i.keyword === 'ENV').map((i) => i.args).join(' ');
    assert.match(env, /\bMALLOC_ARENA_MAX=2\b/);
  });

  it('runs as a non-root user', () => {
    const users = runtime.filter((i) => i.keyword === 'USER').map((i) => i.args.split(':')[0]);
    assert.ok(users.length > 0, 'the runtime stage never sets USER');
    const last = users.at(-1);
    assert.ok(last !== 'root' && last !== '0', `runs as ${last}`);
    const lastUser = runtime.map((i) => i.keyword).lastIndexOf('USER');
    const cmd = runtime.findIndex((i) => i.keyword === 'CMD');
    assert.ok(lastUser < cmd);
  });

  it('sends the builder exactly what it copies (.dockerignore allow-list)', () => {
    const patterns = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    assert.equal(patterns[0], '*', 'start from nothing');
    const allowed = new Set(patterns.filter((p) => p.startsWith('!')).map((p) => p.slice(1).replace(/\/$/, '')));
    const sources = builder
      .filter((i) => i.keyword === 'COPY' && !i.args.includes('--from='))
      .flatMap((i) => i.args.split(/\s+/).filter((a) => !a.startsWith('--')).slice(0, -1))
      .map((s) => s.replace(/\/$/, ''));
    assert.ok(sources.length > 0);
    for (const s of sources) assert.ok(allowed.has(s), `${s} is copied but excluded by .dockerignore`);
    assert.ok(!allowed.has('.npmrc'));
  });
});

describe('scripts/build.ts', () => {
  it('lists the externals in the generated package.json at the root versions', () => {
    assert.ok(FUNCTIONS && WORKER);
    const pkg = deployPackageJson(rootPkg, FUNCTIONS);
    assert.equal(pkg['type'], 'module');
    assert.equal(pkg['main'], 'index.js');
    assert.equal(pkg.dependencies['@google-cloud/functions-framework'], rootPkg.dependencies['@google-cloud/functions-framework']);
    assert.equal(pkg.dependencies['sharp'], rootPkg.dependencies['sharp']);
    assert.ok(WORKER.externals.includes('onnxruntime-node') && WORKER.externals.includes('sharp'));
    assert.equal(deployPackageJson(rootPkg, WORKER).dependencies['onnxruntime-node'], rootPkg.dependencies['onnxruntime-node']);
  });

  it('refuses an external the root package.json does not depend on', () => {
    assert.throws(() => deployPackageJson({ name: 'x', version: '1.0.0', dependencies: {} }, { name: 'functions', entry: 'e.ts', outfile: 'dist/f/index.js', externals: ['sharp'] }), {
      name: 'BuildError',
      message: 'functions: external package sharp not in the root package.json dependencies',
    });
  });

  for (const c of [
    { name: 'no arguments', argv: [], expected: { only: undefined } },
    { name: "one target (--strict, the Dockerfile's, changes nothing)", argv: ['--strict', '--only=gpu-worker'], expected: { only: new Set(['gpu-worker']) } },
  ]) {
    it(`parses arguments: ${c.name}`, () => assert.deepEqual(parseArgs(c.argv), c.expected));
  }
  it('rejects unknown targets and flags', () => {
    assert.throws(() => parseArgs(['--only=web']), BuildError);
    assert.throws(() => parseArgs(['--fast']), BuildError);
  });

  describe('a real build in a scratch copy', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'petcutout-build-'));
    for (const entry of ['package.json', 'tsconfig.json', 'node_modules', 'functions', 'gpu-worker', 'shared', 'schemas']) {
      if (existsSync(join(ROOT, entry))) symlinkSync(join(ROOT, entry), join(scratch, entry));
    }
    after(() => rmSync(scratch, { recursive: true, force: true }));

    it('fails on a missing entry, building nothing', async () => {
      const empty = mkdtempSync(join(tmpdir(), 'petcutout-build-empty-'));
      try {
        symlinkSync(join(ROOT, 'package.json'), join(empty, 'package.json'));
        assert.equal(await run(empty, { only: undefined }), 1);
        assert.equal(await run(empty, { only: new Set(['functions']) }), 1);
        assert.ok(!existsSync(join(empty, 'dist')), 'nothing is built from nothing');
      } finally {
        rmSync(empty, { recursive: true, force: true });
      }
    });

    for (const target of TARGETS) {
      it(`bundles ${target.entry} into ${target.outfile}, which imports without starting anything`, { skip: existsSync(join(ROOT, target.entry)) ? false : `${target.entry} does not exist yet` }, async () => {
        assert.equal(await run(scratch, { only: new Set([target.name]) }), 0);
        // A fresh process, no configuration: importing must neither fail nor keep running.
        const r = spawnSync(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(join(scratch, target.outfile))}); console.log('imported')`], {
          encoding: 'utf8',
          timeout: 60_000,
          env: { PATH: process.env.PATH, METADATA_SERVER_DETECTION: 'none' },
        });
        assert.equal(r.signal, null, `importing ${target.outfile} did not return (a server started on import?)`);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /imported/);
        const pkg = JSON.parse(readFileSync(join(scratch, target.outfile, '..', 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
        assert.deepEqual(Object.keys(pkg.dependencies).sort(), [...target.externals].sort());
      });
    }

    // What the image's CMD runs: the bundle as the process entry. The pipeline thread runs the
    // bundle's second file (pipeline-thread-entry.js), so a bundling mistake there would only show at startup.
    it('the worker bundle starts: /readyz 200 with the pipeline on its thread, SIGTERM exits 0', { skip: WORKER && existsSync(join(ROOT, WORKER.entry)) ? false : 'no worker entry' }, async () => {
      assert.ok(WORKER);
      if (!existsSync(join(scratch, WORKER.outfile))) assert.equal(await run(scratch, { only: new Set([WORKER.name]) }), 0);
      const model = await writeModelFile(buildTinyModel({ size: 1024 }));
      const child = spawn(process.execPath, [join(scratch, WORKER.outfile)], {
        cwd: scratch,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          PATH: process.env.PATH,
          METADATA_SERVER_DETECTION: 'none',
          NODE_ENV: 'production',
          GOOGLE_CLOUD_PROJECT: 'petcutout-local',
          UPLOADS_BUCKET: 'uploads',
          RESULTS_BUCKET: 'results',
          STORAGE_EMULATOR_HOST: 'http://127.0.0.1:9',
          PUBSUB_EMULATOR_HOST: '127.0.0.1:9',
          WORKER_MODE: 'push',
          PORT: '0',
          MODEL_URI: model,
          EXECUTION_PROVIDER: 'cpu',
        },
      });
      let log = '';
      child.stdout.on('data', (c: Buffer) => (log += c.toString()));
      child.stderr.on('data', (c: Buffer) => (log += c.toString()));
      const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
      try {
        const deadline = Date.now() + 60_000;
        let port: string | undefined;
        let ready: { status?: string; provider?: string } | undefined;
        while (!ready && Date.now() < deadline && child.exitCode === null) {
          port ??= /"port":(\d+)/.exec(log)?.[1];
          if (port) {
            const r = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
            if (r?.status === 200) ready = (await r.json()) as typeof ready;
            else await r?.arrayBuffer();
          }
          if (!ready) await new Promise((r) => setTimeout(r, 100));
        }
        assert.deepEqual(ready && { status: ready.status, provider: ready.provider }, { status: 'ready', provider: 'cpu' }, log.slice(-3000));
        assert.match(log, /"thread":"pipeline"/, 'the model was loaded on the pipeline thread');
        child.kill('SIGTERM');
        assert.equal(await exited, 0, log.slice(-3000));
      } finally {
        child.kill('SIGKILL');
      }
    });
  });
});
