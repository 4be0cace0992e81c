import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EVENTS as FUNCTIONS } from '../../functions/log-events.js';
import { EVENTS as WORKER } from '../../gpu-worker/log-events.js';
import { logEvents } from '../../shared/log-events.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

function sources(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) sources(path, out);
    else if (path.endsWith('.ts')) out.push(path);
  }
  return out;
}

describe('log event catalogues', () => {
  it('build each name from its group and key, and refuse names outside the scheme', () => {
    assert.equal(logEvents({ job: ['queued'] }).job.queued, 'job.queued');
    assert.throws(() => logEvents({ Job: ['queued'] }), /breaks the scheme/);
    assert.throws(() => logEvents({ job: ['queued.twice'] }), /breaks the scheme/);
  });

  it('name every job move job.<state> in both deployables', () => {
    assert.deepEqual([FUNCTIONS.job.queued, FUNCTIONS.job.rejected, FUNCTIONS.job.failed], ['job.queued', 'job.rejected', 'job.failed']);
    assert.deepEqual([WORKER.job.processing, WORKER.job.succeeded, WORKER.job.failed], ['job.processing', 'job.succeeded', 'job.failed']);
  });

  it('are the only source of event names in the product code (no string literals)', () => {
    const offenders = ['functions', 'gpu-worker', 'shared']
      .flatMap((dir) => sources(join(ROOT, dir)))
      .flatMap((file) => readFileSync(file, 'utf8').split('\n').map((line, i) => ({ where: `${file.slice(ROOT.length)}:${i + 1}`, line })))
      .filter(({ line }) => /[{,] *event: *['"`]/.test(line) && !/^\s*(\*|\/\/)/.test(line));
    assert.deepEqual(offenders.map((o) => o.where), []);
  });
});
