// `make model`: the embedded default model (ISNet, AGPL-3.0) into .cache/models, verified.
// Usage: npx tsx scripts/fetch-model.ts [--cache-dir DIR]   (MODEL_CACHE_DIR also works)
import { pathToFileURL } from 'node:url';
import { createLogger } from '../shared/logger.js';
import { fetchEmbeddedModel } from '../gpu-worker/model/fetch-embedded.js';
import { DEFAULT_MODEL_CACHE_DIR } from '../gpu-worker/model/embedded.js';

async function main(argv: string[]): Promise<void> {
  const i = argv.indexOf('--cache-dir');
  const cacheDir = (i >= 0 ? argv[i + 1] : undefined) ?? process.env.MODEL_CACHE_DIR ?? DEFAULT_MODEL_CACHE_DIR;
  // stderr only: `make up` runs this first, and its stdout must carry nothing but export lines.
  const logger = createLogger({ component: 'fetch-model' }, process.stderr);
  const { path, fetched } = await fetchEmbeddedModel({ cacheDir, logger });
  process.stderr.write(`${fetched ? 'fetched' : 'already cached'}: ${path}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`fetch-model failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
