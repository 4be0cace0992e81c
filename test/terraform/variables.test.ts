/**
 * The variables' validation blocks and the worker's traffic split, evaluated by terraform
 * itself: variables.tf and plain locals need no provider, so `terraform init`, `plan` and
 * `apply` run offline on a scratch copy of them.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TERRAFORM_DIR } from './hcl.js';

const hasTerraform = !spawnSync('terraform', ['version'], { encoding: 'utf8' }).error;
const EXAMPLE = join(TERRAFORM_DIR, 'example.tfvars');

function terraform(dir: string, args: string[]): { status: number | null; output: string } {
  const r = spawnSync('terraform', [`-chdir=${dir}`, ...args], {
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, TF_IN_AUTOMATION: '1', CHECKPOINT_DISABLE: '1' },
  });
  // Terraform wraps long messages in boxes; join the lines back for matching.
  const output = `${r.stdout}${r.stderr}`.replace(/\n[│ ]*/g, ' ').replace(/\s+/g, ' ');
  return { status: r.status, output };
}

describe('terraform variables: validation', { skip: hasTerraform ? false : 'terraform is not on PATH' }, () => {
  let dir = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'petcutout-tfvars-'));
    copyFileSync(join(TERRAFORM_DIR, 'variables.tf'), join(dir, 'variables.tf'));
    // The split local as written in worker.tf, exposed as an output.
    const split = /^ {2}worker_split = [\s\S]*?\n {2}\]\n/m.exec(readFileSync(join(TERRAFORM_DIR, 'worker.tf'), 'utf8'))?.[0];
    assert.ok(split, 'local.worker_split not found in worker.tf');
    writeFileSync(join(dir, 'split.tf'), `locals {\n${split}}\n\noutput "worker_split" {\n  value = local.worker_split\n}\n`);
    const init = terraform(dir, ['init', '-input=false', '-no-color', '-backend=false']);
    assert.equal(init.status, 0, init.output);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const plan = (vars: Record<string, string>) =>
    terraform(dir, ['plan', '-input=false', '-no-color', '-lock=false', `-var-file=${EXAMPLE}`, ...Object.entries(vars).flatMap(([k, v]) => ['-var', `${k}=${v}`])]);

  it('accepts example.tfvars as it is', () => {
    const r = plan({});
    assert.equal(r.status, 0, r.output);
  });

  it('accepts a canary, a baked-in model path, pull mode and a CMEK key', () => {
    const r = plan({
      worker_canary: '{ stable_revision = "petcutout-gpu-worker-00007-xyz", canary_percent = 10 }',
      model_uri: '/models/model.onnx',
      worker_mode: 'pull',
      kms_key_name: 'projects/p/locations/europe-west4/keyRings/r/cryptoKeys/k',
      fulfilment_members: '["serviceAccount:orders@shop-prod.iam.gserviceaccount.com"]',
      download_url_ttl_seconds: '3600',
    });
    assert.equal(r.status, 0, r.output);
  });

  const splits: { name: string; canary: string; expected: { latest: boolean; revision: string | null; percent: number }[] }[] = [
    { name: 'no canary: all on the latest revision', canary: 'null', expected: [{ latest: true, revision: null, percent: 100 }] },
    {
      name: 'a 10% canary',
      canary: '{ stable_revision = "w-00007", canary_percent = 10 }',
      expected: [
        { latest: false, revision: 'w-00007', percent: 90 },
        { latest: true, revision: null, percent: 10 },
      ],
    },
    { name: 'canary at 0%: rolled back, no zero entry', canary: '{ stable_revision = "w-00007", canary_percent = 0 }', expected: [{ latest: false, revision: 'w-00007', percent: 100 }] },
    { name: 'canary at 100%: promoted', canary: '{ stable_revision = "w-00007", canary_percent = 100 }', expected: [{ latest: true, revision: null, percent: 100 }] },
  ];
  for (const [i, c] of splits.entries()) {
    it(`splits worker traffic: ${c.name}`, () => {
      const state = join(dir, `split-${i}.tfstate`); // local, throwaway: outputs only
      const r = terraform(dir, ['apply', '-input=false', '-no-color', '-auto-approve', '-lock=false', `-state=${state}`, `-var-file=${EXAMPLE}`, '-var', `worker_canary=${c.canary}`]);
      assert.equal(r.status, 0, r.output);
      const out = spawnSync('terraform', [`-chdir=${dir}`, 'output', `-state=${state}`, '-json', 'worker_split'], { encoding: 'utf8' });
      assert.deepEqual(JSON.parse(out.stdout), c.expected);
    });
  }

  const rejections: { name: string; vars: Record<string, string>; message: string }[] = [
    { name: 'an unknown worker mode', vars: { worker_mode: 'hybrid' }, message: 'worker_mode must be "push" or "pull".' },
    { name: 'fewer than 4 vCPUs', vars: { worker_cpu: '2' }, message: 'worker_cpu must be 4, 6 or 8' },
    { name: 'less than 16 GiB', vars: { worker_memory_gib: '8' }, message: 'worker_memory_gib must be a whole number between 16 and 32.' },
    { name: 'a malformed model hash', vars: { model_sha256: 'abc' }, message: 'model_sha256 must be 64 lowercase hex characters.' },
    { name: 'a model over http', vars: { model_uri: 'https://example.com/m.onnx' }, message: 'model_uri must be gs://BUCKET/OBJECT or an absolute path inside the image.' },
    { name: 'an image without a registry', vars: { worker_image: 'gpu-worker:latest' }, message: 'worker_image must be a full image reference' },
    { name: 'a wildcard origin', vars: { allowed_origins: '["*"]' }, message: 'allowed_origins must list at least one origin' },
    { name: 'an origin with a trailing slash', vars: { allowed_origins: '["https://shop.example.com/"]' }, message: 'allowed_origins must list at least one origin' },
    { name: 'an ack deadline over the Pub/Sub limit', vars: { job_ack_deadline_seconds: '700' }, message: 'job_ack_deadline_seconds must be a whole number between 10 and 600' },
    { name: 'fewer than 5 delivery attempts', vars: { job_max_delivery_attempts: '3' }, message: 'job_max_delivery_attempts must be a whole number between 5 and 100' },
    { name: 'retention beyond a week', vars: { message_retention_days: '10' }, message: 'message_retention_days must be a whole number between 1 and 7' },
    { name: 'a notification channel that is not an id', vars: { notification_channels: '["email:ops@example.com"]' }, message: 'notification_channels must be full ids' },
    { name: 'a canary without a stable revision', vars: { worker_canary: '{ stable_revision = "", canary_percent = 10 }' }, message: 'worker_canary needs a non-empty stable_revision' },
    { name: 'a canary over 100%', vars: { worker_canary: '{ stable_revision = "r", canary_percent = 150 }' }, message: 'worker_canary needs a non-empty stable_revision and a whole canary_percent between 0 and 100.' },
    { name: 'a KMS key that is not a key name', vars: { kms_key_name: 'my-key' }, message: 'kms_key_name must be a full crypto key name' },
    { name: 'a gateway region that is a zone', vars: { gateway_region: 'europe-west1-b' }, message: 'gateway_region must be null (same as region) or a single region' },
    { name: 'a project id with capitals', vars: { project_id: 'Petcutout' }, message: 'project_id must be a Google Cloud project id' },
    { name: 'a fulfilment member that is not a principal', vars: { fulfilment_members: '["orders@example.iam.gserviceaccount.com"]' }, message: 'fulfilment_members must be IAM principals' },
    { name: 'a download URL living past the V4 limit', vars: { download_url_ttl_seconds: '700000' }, message: 'download_url_ttl_seconds must be a whole number between 60 and 604800' },
    { name: 'backoff minimum above maximum', vars: { job_retry_backoff_seconds: '{ minimum = 60, maximum = 10 }' }, message: 'job_retry_backoff_seconds must satisfy 0 <= minimum <= maximum <= 600.' },
  ];
  for (const c of rejections) {
    it(`rejects ${c.name}`, () => {
      const r = plan(c.vars);
      assert.notEqual(r.status, 0, `plan succeeded with ${JSON.stringify(c.vars)}`);
      assert.ok(r.output.includes(c.message), `expected "${c.message}" in: ${r.output.slice(0, 1500)}`);
    });
  }
});
