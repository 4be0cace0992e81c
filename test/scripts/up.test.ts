// `make up` as a user runs it: the entry (scripts/up.ts, the tiny model for speed) prints only
// export lines on stdout; with them, scripts/batch.ts processes two photos with a progress line
// each; the page server answers on its own origin; SIGINT stops everything, leaving no process.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseUpArgs, UpUsageError } from '../../scripts/up.js';
import { parseExports, spawnTsx } from '../support/spawned.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PHOTOS = ['test/fixtures/photos/skimage-chelsea-cat.png', 'test/fixtures/photos/opencv-chicky_512.png'];

describe('up: arguments', () => {
  it('defaults to ISNet, logs on, web/ on a free port', () => {
    assert.deepEqual(parseUpArgs([]), { tiny: false, quiet: false, webDir: 'web', webPort: 0 });
    assert.deepEqual(parseUpArgs(['--tiny', '--quiet', '--web', 'site', '--web-port', '8000']), { tiny: true, quiet: true, webDir: 'site', webPort: 8000 });
  });
  for (const [argv, message] of [
    [['--web-port', 'x'], /--web-port expects a port number/],
    [['--fast'], /Unknown option '--fast'/],
    [['photos/'], /positional/],
  ] as const) {
    it(`refuses ${argv.join(' ')}`, () => assert.throws(() => parseUpArgs([...argv]), (err: unknown) => err instanceof UpUsageError && message.test(err.message)));
  }
});

/** Every process below `pid`, from /proc (Linux). */
function descendants(pid: number): number[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name (field 2) may hold spaces; the fields after its ')' do not.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parents.set(ppid, [...(parents.get(ppid) ?? []), Number(entry)]);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const walk = (p: number): void => {
    for (const c of parents.get(p) ?? []) {
      out.push(c);
      walk(c);
    }
  };
  walk(pid);
  return out;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('up: the whole system until SIGINT', () => {
  it('prints only exports, runs a batch with them, serves the page, and stops leaving no process', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'up-test-'));
    await mkdir(join(dir, 'web', 'shop'), { recursive: true });
    await writeFile(join(dir, 'web', 'shop', 'index.html'), '<!doctype html><title>shop</title>');
    const up = spawnTsx(['scripts/up.ts', '--tiny', '--quiet', '--web', join(dir, 'web')], { cwd: ROOT, env: { ...process.env, LOCALCLOUD_DATA_DIR: join(dir, 'data') } });
    const { child } = up;
    let tree: number[] = [];
    try {
      await up.until(() => up.stderr.includes('Ctrl-C stops everything'), 'up did not come up', 180_000, 200);
      const stdout = up.stdout;
      const lines = stdout.split('\n').filter(Boolean);
      for (const line of lines) assert.match(line, /^export \w+='[^']*'$/, 'stdout carries nothing but export lines');
      const env = parseExports(stdout);
      for (const key of ['GOOGLE_CLOUD_PROJECT', 'UPLOADS_BUCKET', 'RESULTS_BUCKET', 'STORAGE_EMULATOR_HOST', 'PUBSUB_EMULATOR_HOST', 'GOOGLE_APPLICATION_CREDENTIALS', 'CREATE_UPLOAD_URL', 'GET_STATUS_URL', 'WEB_URL']) assert.ok(env[key], `${key} exported`);
      assert.equal(readFileSync(join(dir, 'data', 'env.sh'), 'utf8'), stdout, 'the same exports in DATA_DIR/env.sh');
      assert.match(up.stderr, new RegExp(`open ${env['WEB_URL']!.replace(/[.]/g, '\\.')} in a browser`));

      // The page on its own origin, with the API's addresses and a CORS allowlist naming it.
      const web = new URL(env['WEB_URL']!);
      assert.notEqual(web.port, new URL(env['CREATE_UPLOAD_URL']!).port);
      assert.notEqual(web.port, new URL(env['STORAGE_EMULATOR_HOST']!).port);
      assert.equal((await (await fetch(web)).text()).includes('<title>shop</title>'), true);
      assert.deepEqual(await (await fetch(new URL('/config.json', web))).json(), { createUploadUrl: env['CREATE_UPLOAD_URL'], getStatusUrl: env['GET_STATUS_URL'] });
      const preflight = await fetch(new URL('uploads', env['CREATE_UPLOAD_URL']), { method: 'OPTIONS', headers: { origin: web.origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });
      assert.equal(preflight.headers.get('access-control-allow-origin'), web.origin);
      const storagePreflight = await fetch(`${env['STORAGE_EMULATOR_HOST']}/${env['UPLOADS_BUCKET']}/uploads/x/original`, { method: 'OPTIONS', headers: { origin: web.origin, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' } });
      assert.equal(storagePreflight.headers.get('access-control-allow-origin'), web.origin);

      // Another shell: the exports, then the operator's batch command.
      const batch = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/batch.ts', ...PHOTOS, '--name', 'x', '--timeout', '120'], { cwd: ROOT, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 180_000 });
      assert.equal(batch.status, 0, `batch:\n${batch.stdout}\n${batch.stderr}`);
      assert.match(batch.stderr, /\[1\/2\] \S+ succeeded/);
      assert.match(batch.stderr, /\[2\/2\] \S+ succeeded/);
      assert.match(batch.stdout, /skimage-chelsea-cat\.png\t[0-9a-f]{32}\tsucceeded/);
      assert.match(batch.stdout, /opencv-chicky_512\.png\t[0-9a-f]{32}\tsucceeded/);
      assert.match(batch.stdout, /batch x: 2 succeeded, 0 rejected, 0 failed/);

      tree = descendants(child.pid!);
      assert.ok(tree.length >= 6, `emulators, functions and worker run under up (${tree.length} processes)`);
      child.kill('SIGINT');
      assert.equal(await up.exited, 0, up.stderr.slice(-4000));
      // The sh watchdogs notice within a second; give them two.
      await new Promise((r) => setTimeout(r, 2_000));
      assert.deepEqual(tree.filter(alive), [], 'no process left behind');
      await assert.rejects(fetch(`${env['STORAGE_EMULATOR_HOST']}/b`), 'storage emulator stopped');
      await assert.rejects(fetch(`http://${env['PUBSUB_EMULATOR_HOST']}/`), 'Pub/Sub emulator stopped');
      await assert.rejects(fetch(web), 'page server stopped');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      for (const pid of tree.filter(alive)) process.kill(pid, 'SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  });
});
