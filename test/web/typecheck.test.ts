/**
 * web/ is plain browser JavaScript, outside the Node program's type check (which has no DOM
 * library): here it is checked on its own against its declarations (web/tsconfig.json), and
 * the client's runtime exports are compared with what cutout.d.ts declares.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';

const REPO = join(import.meta.dirname, '..', '..');

describe('web/ type check', () => {
  it('tsc -p web finds no error (client, shop page, browser-test probes)', () => {
    const tsc = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', join(REPO, 'web')], { encoding: 'utf8', timeout: 240_000 });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  });

  it('cutout.d.ts declares exactly what cutout.js exports', async () => {
    const runtime = Object.keys(await import('../../web/client/cutout.js')).sort();
    const dts = readFileSync(join(REPO, 'web', 'client', 'cutout.d.ts'), 'utf8');
    const declared = [...dts.matchAll(/^export declare (?:class|const|function) (\w+)/gm)].map((m) => m[1]).sort();
    assert.deepEqual(runtime, declared);
  });
});
