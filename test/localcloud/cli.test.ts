// The `make localcloud` entry point: importing it has no side effects, its option parsing and
// export lines are pure, and the real process prints the env and stops cleanly on SIGTERM,
// and warns when an upload's finalize event has no function to go to.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Storage } from '@google-cloud/storage';
import { cliOptions, formatExports } from './cli.js';

const CLI = fileURLToPath(new URL('./cli.ts', import.meta.url));

describe('cli helpers', () => {
  it('formatExports single-quotes values for a shell', () => {
    assert.equal(formatExports({ A: 'plain', B: "it's /a b" }), "export A='plain'\nexport B='it'\\''s /a b'\n");
  });
  const cases: { name: string; env: Record<string, string>; expected: Record<string, unknown> }[] = [
    { name: 'defaults', env: {}, expected: { dataDir: '.localcloud', logLevel: 'info' } },
    {
      name: 'every setting',
      env: {
        LOCALCLOUD_DATA_DIR: '/tmp/x',
        LOCALCLOUD_PROJECT_ID: 'demo-project',
        UPLOADS_BUCKET: 'up-bkt',
        RESULTS_BUCKET: 'res-bkt',
        LOCALCLOUD_CORS_ORIGINS: 'http://a:1, http://b:2',
        LOCALCLOUD_PUBSUB_PORT: '8085',
        LOCALCLOUD_STORAGE_PORT: '9023',
        LOCALCLOUD_STORAGE_FUNCTION_URL: 'http://127.0.0.1:8080/',
        LOCALCLOUD_DEAD_LETTER_FUNCTION_URL: 'http://127.0.0.1:8081/',
        LOG_LEVEL: 'debug',
      },
      expected: {
        dataDir: '/tmp/x',
        projectId: 'demo-project',
        uploadsBucket: 'up-bkt',
        resultsBucket: 'res-bkt',
        corsOrigins: ['http://a:1', 'http://b:2'],
        pubsubPort: 8085,
        storagePort: 9023,
        storageFunctionUrl: 'http://127.0.0.1:8080/',
        deadLetterFunctionUrl: 'http://127.0.0.1:8081/',
        logLevel: 'debug',
      },
    },
  ];
  for (const c of cases) {
    it(`cliOptions: ${c.name}`, () => {
      const { names: _names, ...rest } = cliOptions(c.env);
      assert.deepEqual(rest, c.expected);
    });
  }
  it('cliOptions takes topic names from the BaseConfig variables', () => {
    assert.equal(cliOptions({ JOBS_TOPIC: 'jobs-x' }).names?.jobsTopic, 'jobs-x');
  });
});

describe('cli process', () => {
  it('prints export lines, stays up, and exits 0 on SIGTERM with the emulators gone', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'localcloud-cli-'));
    const child = spawn(process.execPath, ['--import', 'tsx', CLI], {
      env: { ...process.env, LOCALCLOUD_DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 60_000;
      while (!stdout.includes('JOBS_SUBSCRIPTION') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 100));
      const env = Object.fromEntries([...stdout.matchAll(/^export (\w+)='([^']*)'$/gm)].map((m) => [m[1], m[2]]));
      assert.equal(env['JOBS_SUBSCRIPTION'], 'jobs-worker', `stdout:\n${stdout}\nstderr:\n${stderr}`);
      assert.equal((await fetch(`http://${env['PUBSUB_EMULATOR_HOST']}/`)).ok, true);
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
      await assert.rejects(fetch(`http://${env['PUBSUB_EMULATOR_HOST']}/`), 'Pub/Sub emulator stopped');
      await assert.rejects(fetch(`${env['STORAGE_EMULATOR_HOST']}/b`), 'storage emulator stopped');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
  it('says on stderr, naming `make up`, that an upload has no function subscribed to its finalize event', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'localcloud-cli-'));
    const child = spawn(process.execPath, ['--import', 'tsx', CLI], {
      env: { ...process.env, LOCALCLOUD_DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const until = async (done: () => boolean, what: string): Promise<void> => {
      const deadline = Date.now() + 60_000;
      while (!done()) {
        if (Date.now() > deadline || child.exitCode !== null) assert.fail(`${what}; stdout:\n${stdout}\nstderr:\n${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    try {
      await until(() => stdout.includes('JOBS_SUBSCRIPTION'), 'no export lines');
      assert.match(stderr, /the emulators only.*`make up` starts the whole system/);
      const env = Object.fromEntries([...stdout.matchAll(/^export (\w+)='([^']*)'$/gm)].map((m) => [m[1]!, m[2]!]));
      const storage = new Storage({ projectId: env['GOOGLE_CLOUD_PROJECT']!, apiEndpoint: env['STORAGE_EMULATOR_HOST']! });
      await storage.bucket(env['UPLOADS_BUCKET']!).file('batch/x/cat.jpg').save(Buffer.from('not even an image'), { resumable: false });
      await until(() => stderr.includes('batch/x/cat.jpg'), 'no warning for the upload');
      const line = stderr.split('\n').find((l) => l.includes('batch/x/cat.jpg')) ?? '';
      assert.match(line, new RegExp(`gs://${env['UPLOADS_BUCKET']}/batch/x/cat\\.jpg was uploaded, but no function is subscribed to its finalize event`));
      assert.match(line, /`make up`/);
      assert.match(line, /LOCALCLOUD_STORAGE_FUNCTION_URL/);
      assert.doesNotMatch(stdout, /no function/, 'the warning stays off stdout');
      child.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
