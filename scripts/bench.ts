// `make bench`: runs every bench/*.ts in order, each printing its own figures.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';

const only = process.argv.slice(2);
const files = readdirSync('bench')
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort();
let failed = 0;
for (const file of files) {
  console.log(`\n===== bench/${file}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--expose-gc', `bench/${file}`], { stdio: 'inherit', env: { ...process.env, METADATA_SERVER_DETECTION: 'none' } });
  if (r.status !== 0) {
    failed++;
    console.log(`bench/${file} exited with ${r.status}`);
  }
}
process.exit(failed ? 1 : 0);
