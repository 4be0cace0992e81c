/**
 * Entry point: registers the four functions with functions-framework. Importing this
 * module needs no environment and touches no network; configuration is parsed on the
 * first invocation (see lazyFunctions).
 *
 * Serve one function locally (TypeScript sources through tsx):
 *   node --import tsx node_modules/@google-cloud/functions-framework/build/src/main.js \
 *     --source=functions/index.ts --target=createUpload --signature-type=http --port=8081
 */
import { cloudEvent, http, type CloudEvent } from '@google-cloud/functions-framework';
import { createLogger } from '../shared/logger.js';
import { lazyFunctions } from './app.js';
import { installJsonErrors } from './framework-errors.js';
import { gcpDeps } from './gcp.js';

export const functions = lazyFunctions(() => process.env, gcpDeps);
// Before the framework builds its express app: malformed bodies it refuses get our JSON too.
installJsonErrors(functions.allowedOrigins, createLogger({ component: 'functions' }));

http('createUpload', (req, res) => functions.createUpload(req, res));
http('getStatus', (req, res) => functions.getStatus(req, res));
cloudEvent('onObjectFinalized', async (event: CloudEvent<unknown>) => {
  await functions.onObjectFinalized(event);
});
cloudEvent('onDeadLetter', async (event: CloudEvent<unknown>) => {
  await functions.onDeadLetter(event);
});
