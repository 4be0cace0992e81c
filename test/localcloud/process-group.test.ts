// Child processes of localcloud must not outlive it, whatever way it ends.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { groupAlive, spawnGroup } from './process-group.js';
import { waitFor } from './test-helpers.js';

const MODULE = new URL('./process-group.ts', import.meta.url).href;

describe('spawnGroup', () => {
  it('stop() ends the command and its own children, and is idempotent', async () => {
    // The inner sh leaves a grandchild (sleep) that only a group kill reaches.
    const g = spawnGroup('/bin/sh', ['-c', 'sleep 60 & echo started; wait']);
    await waitFor('start', () => (g.output().includes('started') ? true : undefined), 5_000);
    assert.equal(groupAlive(g.pid), true);
    await g.stop();
    await g.stop();
    assert.equal(groupAlive(g.pid), false);
  });

  it('a SIGKILLed parent leaves nothing behind: the watchdog kills the group within seconds', async () => {
    const parent = spawn(process.execPath, ['--import', 'tsx', '-e', `import(${JSON.stringify(MODULE)}).then(({ spawnGroup }) => { console.log(spawnGroup('sleep', ['60']).pid); setInterval(() => {}, 1000); })`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    parent.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const pid = await waitFor('group pid', () => (/^\d+$/m.test(out) ? Number(out.trim()) : undefined), 15_000);
    assert.equal(groupAlive(pid), true);
    parent.kill('SIGKILL');
    await waitFor('group gone', () => (groupAlive(pid) ? undefined : true), 5_000, 100);
  });

  it('the command exiting on its own ends the watchdog too', async () => {
    const g = spawnGroup('/bin/sh', ['-c', 'exit 3']);
    await g.exited;
    assert.equal(g.hasExited(), true);
    await waitFor('group gone', () => (groupAlive(g.pid) ? undefined : true), 3_000);
    await g.stop();
  });
});
