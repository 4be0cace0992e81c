// `make bench`: runs every bench/*.ts in order, each printing its own figures.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

// Names pick benches (`make bench BENCH=pipeline`); --flags go to each bench run (`BENCH="worker --rounds=20"`).
const only = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const flags = process.argv.slice(2).filter((a) => a.startsWith('--'));
const files = readdirSync('bench')
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
let failed = 0;
for (const file of files) {
  console.log(`\n===== bench/${file}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', `bench/${file}`, ...flags], { stdio: 'inherit', env: { ...process.env, METADATA_SERVER_DETECTION: 'none' } });
  if (r.status !== 0) {
    failed++;
    console.log(`bench/${file} exited with ${r.status}`);
  }
}
process.exit(failed ? 1 : 0);
