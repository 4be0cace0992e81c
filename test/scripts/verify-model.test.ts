/**
 * `npm run verify-model` (issue 18): passes the embedded ISNet with its figures, and fails a
 * model whose declared batch mixes its images, a saturated map and a mislabelled output kind.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { embeddedModelPath } from '../../gpu-worker/model/embedded.js';
import { parseVerifyArgs, verifyModel, VerifyUsageError } from '../../scripts/verify-model.js';
import { buildTinyModel, tinySpec, writeModelFile, type TinyModelOptions } from '../support/tiny-model.js';

const ROOT = join(import.meta.dirname, '..', '..');

function verifyCli(args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/verify-model.ts', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 240_000, env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip' } });
  return { status: r.status, out: r.stdout + r.stderr };
}

/** A tiny model file and its spec file; `kind` overrides the spec's output kind (a mislabelled export). */
async function tiny(options: TinyModelOptions, kind?: 'probabilities' | 'logits'): Promise<{ model: string; spec: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'verify-'));
  const spec = join(dir, 'spec.json');
  const s = tinySpec({ size: 32, ...options });
  await writeFile(spec, JSON.stringify(kind ? { ...s, output: { ...s.output, kind } } : s));
  return { model: await writeModelFile(buildTinyModel({ size: 32, ...options })), spec };
}

async function verifyInProcess(options: TinyModelOptions, kind?: 'probabilities' | 'logits'): Promise<{ ok: boolean; lines: string[] }> {
  const { model, spec } = await tiny(options, kind);
  const lines: string[] = [];
  const ok = await verifyModel(parseVerifyArgs([model, '--spec', spec, '--photos', '2', '--runs', '1']), (l) => lines.push(l));
  return { ok, lines };
}

describe('verify-model', () => {
  it('passes the embedded ISNet and prints its figures (exit 0)', () => {
    const model = embeddedModelPath();
    assert.ok(existsSync(model), `the ISNet model is missing at ${model}: run \`make model\` first`);
    const r = verifyCli([model, '--preset', 'isnet-general-1024', '--photos', '2', '--runs', '1']);
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /contract {2}PASS {2}input "input" \[1,3,1024,1024\] float32/);
    assert.match(r.out, /batch {5}SKIP {2}static batch of 1/);
    assert.equal((r.out.match(/maps {6}PASS/g) ?? []).length, 2, r.out);
    assert.match(r.out, /time {6}cpu {5}\d+ ms per image/);
    assert.match(r.out, /time {6}cuda {4}(not available|\d+ ms per image)/);
    assert.match(r.out, /RESULT: PASS$/m);
  });

  it('fails a dynamic batch that mixes its images with the batch message (exit 1)', async () => {
    const { model, spec } = await tiny({ batchOfOneReshape: true });
    const r = verifyCli([model, '--spec', spec, '--photos', '2', '--runs', '1']);
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /batch {5}FAIL {2}model "tiny-test" declares a dynamic batch but mixes the images of a batch/);
    assert.match(r.out, /docs\/model-export\.md/);
    assert.match(r.out, /RESULT: FAIL$/m);
  });

  it('passes an honest dynamic batch and times a batch of 2', async () => {
    const { ok, lines } = await verifyInProcess({});
    assert.equal(ok, true, lines.join('\n'));
    assert.ok(lines.some((l) => /batch {5}PASS {2}batched vs alone: max difference/.test(l)));
    assert.ok(lines.some((l) => /time {6}cpu .*; batch of 2: \d+ ms per image/.test(l)));
  });

  const failures = [
    { name: 'an almost all-1 map (saturated)', options: { bias: 20 }, kind: undefined, message: /saturated: 100\.0% of the map is above 0\.95/ },
    { name: 'an almost all-0 map (saturated)', options: { bias: -20 }, kind: undefined, message: /saturated: 100\.0% of the map is below 0\.05/ },
    { name: 'logits declared as probabilities', options: { outputKind: 'logits' as const }, kind: 'probabilities' as const, message: /values outside 0\.\.1/ },
  ];
  for (const c of failures) {
    it(`fails ${c.name}`, async () => {
      const { ok, lines } = await verifyInProcess(c.options, c.kind);
      assert.equal(ok, false);
      assert.ok(lines.some((l) => l.includes('maps      FAIL') && c.message.test(l)), lines.join('\n'));
      assert.equal(lines.at(-1), 'RESULT: FAIL');
    });
  }

  it('fails a graph that does not match its contract, naming the problem', async () => {
    const { model } = await tiny({ inputName: 'image' });
    const lines: string[] = [];
    const ok = await verifyModel(parseVerifyArgs([model, '--preset', 'isnet-general-1024']), (l) => lines.push(l));
    assert.equal(ok, false);
    assert.ok(lines.some((l) => /contract {2}FAIL .*input "input" not found \(the graph's inputs: image\)/.test(l)), lines.join('\n'));
  });

  const usage = [
    { args: [], message: /expected one model file/ },
    { args: ['m.onnx'], message: /give one of --preset/ },
    { args: ['m.onnx', '--preset', 'u2net'], message: /unknown preset u2net/ },
    { args: ['m.onnx', '--preset', 'isnet-general-1024', '--runs', '0'], message: /--runs expects a whole number/ },
    { args: ['m.onnx', '--preset', 'isnet-general-1024', '--speed'], message: /Unknown option '--speed'/ },
  ];
  for (const c of usage) {
    it(`usage: ${c.args.join(' ') || '(nothing)'}`, () => {
      assert.throws(() => parseVerifyArgs(c.args), (err: unknown) => err instanceof VerifyUsageError && c.message.test(err.message));
    });
  }
});
