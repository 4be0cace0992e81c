// The `make localcloud` entry point: importing it has no side effects, its option parsing and
// export lines are pure, and the real process prints the env and stops cleanly on SIGTERM,
// and warns when an upload's finalize event has no function to go to.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Storage } from '@google-cloud/storage';
import { parseExports, spawnTsx } from '../support/spawned.js';
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
  const startCli = (dataDir: string) => spawnTsx([CLI], { env: { ...process.env, LOCALCLOUD_DATA_DIR: dataDir, LOG_LEVEL: 'warn' } });

  it('prints export lines, stays up, and exits 0 on SIGTERM with the emulators gone', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'localcloud-cli-'));
    const cli = startCli(dataDir);
    try {
      await cli.until(() => cli.stdout.includes('JOBS_SUBSCRIPTION'), 'no export lines');
      const env = parseExports(cli.stdout);
      assert.equal(env['JOBS_SUBSCRIPTION'], 'jobs-worker', `stdout:\n${cli.stdout}\nstderr:\n${cli.stderr}`);
      assert.equal((await fetch(`http://${env['PUBSUB_EMULATOR_HOST']}/`)).ok, true);
      cli.child.kill('SIGTERM');
      assert.equal(await cli.exited, 0, cli.stderr);
      await assert.rejects(fetch(`http://${env['PUBSUB_EMULATOR_HOST']}/`), 'Pub/Sub emulator stopped');
      await assert.rejects(fetch(`${env['STORAGE_EMULATOR_HOST']}/b`), 'storage emulator stopped');
    } finally {
      if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
  it('says on stderr, naming `make up`, that an upload has no function subscribed to its finalize event', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'localcloud-cli-'));
    const cli = startCli(dataDir);
    try {
      await cli.until(() => cli.stdout.includes('JOBS_SUBSCRIPTION'), 'no export lines');
      assert.match(cli.stderr, /the emulators only.*`make up` starts the whole system/);
      const env = parseExports(cli.stdout);
      const storage = new Storage({ projectId: env['GOOGLE_CLOUD_PROJECT']!, apiEndpoint: env['STORAGE_EMULATOR_HOST']! });
      await storage.bucket(env['UPLOADS_BUCKET']!).file('batch/x/cat.jpg').save(Buffer.from('not even an image'), { resumable: false });
      await cli.until(() => cli.stderr.includes('batch/x/cat.jpg'), 'no warning for the upload');
      const line = cli.stderr.split('\n').find((l) => l.includes('batch/x/cat.jpg')) ?? '';
      assert.match(line, new RegExp(`gs://${env['UPLOADS_BUCKET']}/batch/x/cat\\.jpg was uploaded, but no function is subscribed to its finalize event`));
      assert.match(line, /`make up`/);
      assert.match(line, /LOCALCLOUD_STORAGE_FUNCTION_URL/);
      assert.doesNotMatch(cli.stdout, /no function/, 'the warning stays off stdout');
      cli.child.kill('SIGTERM');
      assert.equal(await cli.exited, 0, cli.stderr);
    } finally {
      if (cli.child.exitCode === null) cli.child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
