/**
 * The worker as a real process with a bad model: it must stop at startup with a message that
 * names the problem (the old service turned model-loading failures into 500s on every
 * endpoint, health checks included, and kept running).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { buildTinyModel, writeModelFile } from '../support/tiny-model.js';

const ROOT = join(import.meta.dirname, '..', '..');

function startWorker(model: Record<string, string>): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'gpu-worker/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env['PATH'] ?? '',
      METADATA_SERVER_DETECTION: 'none',
      GOOGLE_CLOUD_PROJECT: 'petcutout-local',
      UPLOADS_BUCKET: 'uploads',
      RESULTS_BUCKET: 'results',
      // Nothing listens there: the worker must fail on the model before it talks to Pub/Sub.
      PUBSUB_EMULATOR_HOST: '127.0.0.1:9',
      STORAGE_EMULATOR_HOST: 'http://127.0.0.1:9',
      PORT: '0',
      EXECUTION_PROVIDER: 'cpu',
      ...model,
    },
    encoding: 'utf8',
    timeout: 60_000,
    killSignal: 'SIGKILL',
  });
  return { status: r.status, out: r.stderr + r.stdout };
}

describe('gpu-worker process with a bad model', () => {
  it('a wrong checksum stops it at startup with exit 1, naming the checksum', async () => {
    const path = await writeModelFile(buildTinyModel({ size: 1024 }));
    const r = startWorker({ MODEL_URI: path, MODEL_SHA256: '0'.repeat(64) });
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /cannot start/);
    assert.match(r.out, /sha256|checksum/i);
  });

  it('a graph whose input does not match the preset stops it at startup, naming the input', async () => {
    const path = await writeModelFile(buildTinyModel({ size: 1024, inputName: 'image' }));
    const r = startWorker({ MODEL_URI: path, MODEL_PRESET: 'isnet-general-1024' });
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /cannot start/);
    assert.match(r.out, /input/);
    assert.match(r.out, /image/, 'names the input the graph actually has');
  });

  it('a missing model file stops it at startup, naming the path', () => {
    const r = startWorker({ MODEL_URI: '/nonexistent/model.onnx' });
    assert.equal(r.status, 1, r.out);
    assert.match(r.out, /\/nonexistent\/model\.onnx/);
  });
});
