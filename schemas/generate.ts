// Writes schemas/json/*.schema.json from the zod source. `npm run schemas` after changing a contract.
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CONTRACTS, renderJsonSchema, type ContractName } from './registry.js';

export function writeJsonSchemas(): void {
  const dir = fileURLToPath(new URL('./json/', import.meta.url));
  for (const name of Object.keys(CONTRACTS) as ContractName[]) {
    writeFileSync(`${dir}${name}.schema.json`, renderJsonSchema(name));
    console.log(`wrote schemas/json/${name}.schema.json`);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) writeJsonSchemas();
