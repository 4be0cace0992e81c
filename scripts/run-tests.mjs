#!/usr/bin/env node
// The test command: type-check, lint, then node's test runner over test/**/*.test.ts.
// The runner's summary is the last thing printed. `npm test -- test/schemas` narrows the run.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const skipStatic = process.env.SKIP_STATIC === '1';
const env = { ...process.env, METADATA_SERVER_DETECTION: 'none', ONNXRUNTIME_NODE_INSTALL: 'skip' };

function run(cmd, cmdArgs) {
  const r = spawnSync(cmd, cmdArgs, { stdio: 'inherit', env });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

function collect(path, out) {
  if (statSync(path).isDirectory()) {
    for (const entry of readdirSync(path).sort()) {
      if (entry === 'fixtures' || entry === 'node_modules') continue;
      collect(join(path, entry), out);
    }
  } else if (path.endsWith('.test.ts')) out.push(path);
  return out;
}

if (!skipStatic) {
  console.log('== typecheck (tsc --noEmit)');
  run('npx', ['tsc', '--noEmit']);
  console.log('== lint (eslint)');
  run('npx', ['eslint', '.', '--max-warnings=0']);
}
const files = (args.length ? args : ['test']).flatMap((p) => collect(p, []));
console.log(`== tests (${files.length} files)`);
const concurrency = process.env.TEST_CONCURRENCY ?? '1';
run(process.execPath, ['--import', 'tsx', '--test', '--test-reporter=spec', `--test-concurrency=${concurrency}`, '--test-timeout=300000', ...files]);
