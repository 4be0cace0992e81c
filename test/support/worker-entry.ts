/**
 * The worker with test hooks in its job handler: gpu-worker/main.ts's `runWorker` plus two
 * variables the production configuration does not know. test/localcloud/worker-process.ts
 * starts this file instead of main.ts when either is set.
 *
 *   DEBUG_JOB_DELAY_MS      hold each job this long before working on it (SIGTERM / SIGKILL tests)
 *   DEBUG_FAIL_CLIENT_REF   a job with this clientRef fails with a retryable error on every attempt
 *   DEBUG_PREVIEW_HOLD_MS   hold each job this long once its preview is in the status, before it
 *                           ends (DEBUG_JOB_DELAY_MS holds it before the pipeline, so before the preview)
 */
import { z } from 'zod';
import { fields, loadConfigOrExit } from '../../shared/config.js';
import { runAsProcess, runWorker } from '../../gpu-worker/main.js';
import type { DebugHooks } from '../../gpu-worker/service/job-handler.js';

const HookConfig = z.object({
  DEBUG_JOB_DELAY_MS: fields.int(0, 600_000).default(0),
  DEBUG_FAIL_CLIENT_REF: z.string().min(1).optional(),
  DEBUG_PREVIEW_HOLD_MS: fields.int(0, 600_000).default(0),
});

// Parsed once, here, like any entry's configuration; a bad value exits 78 with the message.
const cfg = loadConfigOrExit(HookConfig, process.env);
const hooks: DebugHooks = {
  delayMs: cfg.DEBUG_JOB_DELAY_MS,
  previewHoldMs: cfg.DEBUG_PREVIEW_HOLD_MS,
  ...(cfg.DEBUG_FAIL_CLIENT_REF ? { failClientRef: cfg.DEBUG_FAIL_CLIENT_REF } : {}),
};
runAsProcess(() => runWorker(process.env, { hooks }));
