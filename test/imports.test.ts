/**
 * The old service's worst outage: a module deleted from the tree but still imported at
 * startup crashed every container before it bound its port. Here every production module,
 * and every entry point, is imported in a fresh process with an empty environment, so an
 * import-time crash (a missing module, a top-level throw, a config read at import time) fails
 * this test rather than a deploy. Importing must also start nothing: the child process has to
 * exit on its own, with no server, timer or child process keeping it alive.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';

const ROOT = join(import.meta.dirname, '..');

/** The processes we deploy or hand to users, each started by running this file. */
const ENTRY_POINTS = ['functions/index.ts', 'gpu-worker/main.ts', 'gpu-worker/cli.ts', 'test/localcloud/cli.ts', 'scripts/fetch-model.ts', 'scripts/demo.ts', 'scripts/up.ts', 'scripts/batch.ts', 'scripts/replay.ts'];

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)))
    .sort();
}

/** Imports `files` one after another in a child with only PATH set; reports the first failure. */
function importInChild(files: string[]): { status: number | null; stdout: string; stderr: string; signal: NodeJS.Signals | null } {
  const urls = files.map((f) => pathToFileURL(join(ROOT, f)).href);
  const script = `
    for (const url of ${JSON.stringify(urls)}) {
      try { await import(url); }
      catch (err) { console.error('IMPORT FAILED ' + url + '\\n' + (err && err.stack || err)); process.exit(3); }
    }
    console.log('imported ' + ${urls.length});`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '' },
    encoding: 'utf8',
    // Importing has to finish and the process has to exit by itself: anything left listening
    // or polling would hold it open until this kills it.
    timeout: 60_000,
    killSignal: 'SIGKILL',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, signal: r.signal };
}

describe('every module imports cleanly with an empty environment', () => {
  for (const dir of ['schemas', 'shared', 'functions', 'gpu-worker']) {
    it(`${dir}/ (every .ts file), and the process then exits on its own`, () => {
      const files = sourceFiles(dir);
      assert.ok(files.length > 0, `no sources found under ${dir}/`);
      const r = importInChild(files);
      assert.equal(r.signal, null, `import of ${dir}/ did not finish or left something running (killed by ${r.signal})`);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), `imported ${files.length}`);
    });
  }

  for (const entry of ENTRY_POINTS) {
    it(`entry point ${entry}: importing it starts nothing`, () => {
      const r = importInChild([entry]);
      assert.equal(r.signal, null, `${entry} kept the process alive after import (a server, timer or child started at import time)`);
      assert.equal(r.status, 0, r.stderr);
      // Nothing but our own line: an entry that runs its main on import would log or print.
      assert.equal(r.stdout.trim(), 'imported 1');
    });
  }
});

describe('the worker started with no configuration', () => {
  it('exits 78 with one message that lists every missing variable, instead of crashing', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'gpu-worker/main.ts'], {
      cwd: ROOT,
      env: { PATH: process.env['PATH'] ?? '' },
      encoding: 'utf8',
      timeout: 60_000,
      killSignal: 'SIGKILL',
    });
    assert.equal(r.status, 78, `exit ${r.status}\n${r.stderr}`);
    const out = r.stderr + r.stdout;
    for (const key of ['GOOGLE_CLOUD_PROJECT', 'RESULTS_BUCKET']) assert.match(out, new RegExp(key));
    assert.doesNotMatch(out, /at .*\.ts:\d+/, 'a readable message, not a stack trace');
  });
});
