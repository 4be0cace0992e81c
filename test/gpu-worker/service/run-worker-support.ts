/**
 * What the tests that call `runWorker` in-process share: an environment that reaches no real
 * emulator (push mode, port 0, unroutable hosts) and an `exit` that throws instead of ending
 * the test process, so a startup failure can be asserted.
 */

/** The worker's environment for in-process tests; each test adds what it is about. */
export const WORKER_TEST_ENV = {
  GOOGLE_CLOUD_PROJECT: 'petcutout-local',
  UPLOADS_BUCKET: 'uploads-bkt',
  RESULTS_BUCKET: 'results-bkt',
  WORKER_MODE: 'push',
  PORT: '0',
  LOG_LEVEL: 'silent',
  PUBSUB_EMULATOR_HOST: '127.0.0.1:1',
  STORAGE_EMULATOR_HOST: 'http://127.0.0.1:1',
} as const;

/** What `exit` throws: the code the worker would have exited with. */
export class Exited extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** `runWorker`'s exit for tests. */
export const exit = (code: number): never => {
  throw new Exited(code);
};
