// The `cutout` CLI as users run it: a real process on real photos, with a model built in code
// (the ISNet contract, so the default preset applies) to keep it fast.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFile, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { CliError, parseCliArgs } from '../../gpu-worker/cli.js';
import { buildTinyModel, writeModelFile } from '../support/tiny-model.js';

const ROOT = join(import.meta.dirname, '..', '..');
const PHOTOS = join(ROOT, 'test', 'fixtures', 'photos');

function cutout(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'gpu-worker/cli.ts', ...args], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', EXECUTION_PROVIDER: 'cpu' },
    encoding: 'utf8',
    timeout: 120_000,
    killSignal: 'SIGKILL',
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('cutout CLI: arguments', () => {
  it('defaults to cutout, mask and bw with 4 at a time', () => {
    const o = parseCliArgs(['a.jpg', '--out', 'o']);
    assert.deepEqual(o.outputs, ['cutout', 'mask', 'bw']);
    assert.equal(o.concurrency, 4);
  });
  it('maps --model to a preset or a file', () => {
    assert.deepEqual(parseCliArgs(['a.jpg', '--out', 'o', '--model', 'inspyrenet-swinb-1024']).modelEnv, { MODEL_PRESET: 'inspyrenet-swinb-1024' });
    assert.deepEqual(parseCliArgs(['a.jpg', '--out', 'o', '--model', 'm.onnx', '--sha256', 'ab']).modelEnv, { MODEL_URI: 'm.onnx', MODEL_SHA256: 'ab' });
  });
  for (const [argv, message] of [
    [['a.jpg'], /--out DIR is required/],
    [['--out', 'o'], /no images given/],
    [['a.jpg', '--out', 'o', '--outputs', 'cutout,sepia'], /unknown output sepia/],
    [['a.jpg', '--out', 'o', '--concurrency', '0'], /positive integer/],
    [['a.jpg', '--out'], /--out needs a value/],
    [['a.jpg', '--out', 'o', '--frobnicate'], /unknown option --frobnicate/],
    [['a.jpg', '--out', 'o', '-x'], /unknown option -x/],
    [['a.jpg', '--out', '--outputs', 'mask'], /--out needs a value/],
    [['a.jpg', '--out', 'o', '--no-refine=yes'], /--no-refine takes no value/],
    [['a.jpg', '--out', 'o', '--help'], /^usage: cutout/],
  ] as const) {
    it(`refuses ${argv.join(' ')}`, () => assert.throws(() => parseCliArgs(argv), (err: unknown) => err instanceof CliError && message.test(err.message)));
  }
  it('reads --flag=value, switches and every model flag, inputs anywhere', () => {
    const o = parseCliArgs(['a.jpg', '--out=o', 'b/', '--outputs', 'mask,mask,preview', '--concurrency', '2', '--no-refine', '--spec', 's.json', '--provider', 'cpu', 'c.png']);
    assert.deepEqual(o, { inputs: ['a.jpg', 'b/', 'c.png'], out: 'o', outputs: ['mask', 'preview'], concurrency: 2, modelEnv: { MODEL_SPEC: 's.json', EXECUTION_PROVIDER: 'cpu', REFINE_FOREGROUND: 'false' } });
  });
  it('an unknown flag exits 2 with the flag named and the usage, before loading any model', () => {
    const r = cutout(['a.jpg', '--out', 'o', '--frobnicate']);
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^unknown option --frobnicate\nusage: cutout/);
    assert.equal(r.stdout, '');
  });
});

describe('cutout CLI: a real run', () => {
  it('cuts out every photo in a folder, reports the broken file, and exits 1', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cutout-in-'));
    const out = join(await mkdtemp(join(tmpdir(), 'cutout-out-')), 'results');
    await copyFile(join(PHOTOS, 'skimage-chelsea-cat.png'), join(dir, 'cat.png'));
    await copyFile(join(PHOTOS, 'opencv-squirrel_cls.jpg'), join(dir, 'squirrel.jpg'));
    await writeFile(join(dir, 'broken.jpg'), Buffer.from('<html>not a photo</html>'));
    await writeFile(join(dir, 'notes.txt'), 'ignored: not an image extension');
    const model = await writeModelFile(buildTinyModel({ size: 1024 }));

    const r = cutout([dir, '--out', out, '--model', model, '--outputs', 'cutout,mask,bw,preview']);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stdout, /^2 done, 1 failed in [\d.]+ s/);
    assert.match(r.stderr, /failed .*broken\.jpg: \w+/);

    const files = (await readdir(out)).sort();
    assert.deepEqual(files, [
      'cat.bw.png', 'cat.cutout.png', 'cat.mask.png', 'cat.preview.webp',
      'squirrel.bw.png', 'squirrel.cutout.png', 'squirrel.mask.png', 'squirrel.preview.webp',
    ]);
    const cat = await sharp(join(out, 'cat.cutout.png')).metadata();
    assert.deepEqual([cat.width, cat.height, cat.channels], [451, 300, 4]);
    const mask = await sharp(join(out, 'squirrel.mask.png')).metadata();
    assert.deepEqual([mask.width, mask.height, mask.channels], [535, 426, 1]);
    assert.equal((await sharp(join(out, 'squirrel.bw.png')).metadata()).hasAlpha, true);
  });

  it('exits 2 with the usage when a folder has no images', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cutout-empty-'));
    const r = cutout([dir, '--out', join(dir, 'o')]);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /no images/);
  });
});
