import { classify } from '../../shared/errors.js';
import type { Logger } from '../../shared/logger.js';
import type { ImagePipeline } from '../pipeline/contract.js';
import type { Readiness } from './readiness.js';
import { EVENTS } from '../log-events.js';

export interface LoadDeps {
  load: () => Promise<ImagePipeline>;
  isFatal: (err: unknown) => boolean;
  readiness: Readiness;
  log: Logger;
  /** True once shutdown began: stop retrying. */
  stopped: () => boolean;
  sleep?: (ms: number) => Promise<void>;
}

// A model fetched from gs:// can fail on a network blip; back off up to a minute, and let
// the platform's startup probe decide when the instance has taken too long.
const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 60_000;

/** Loads the pipeline, retrying transient failures with /readyz saying why it is not ready. */
export async function loadWithRetry(deps: LoadDeps): Promise<ImagePipeline> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let wait = FIRST_RETRY_MS;
  let lastReason: string | undefined;
  for (let attempt = 1; ; attempt++) {
    deps.readiness.loading(lastReason ? `attempt ${attempt} after: ${lastReason}` : undefined);
    try {
      return await deps.load();
    } catch (err) {
      const c = classify(err);
      const reason = `model load failed (${c.code}): ${c.message}`;
      deps.readiness.failed(reason);
      lastReason = reason;
      if (deps.isFatal(err) || deps.stopped()) {
        deps.log.fatal({ event: EVENTS.model.load_failed, code: c.code, err, fatal: true }, reason);
        throw err;
      }
      deps.log.error({ event: EVENTS.model.load_failed, code: c.code, err, retryInMs: wait }, `${reason}; retrying`);
      await sleep(wait);
      wait = Math.min(wait * 2, MAX_RETRY_MS);
    }
  }
}
