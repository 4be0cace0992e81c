import express, { type Express, type Request, type Response } from 'express';
import type { Registry } from 'prom-client';
import type { Readiness } from './readiness.js';

export interface HttpDeps {
  readiness: Readiness;
  registry: Registry;
  /** Runs one warm-up inference; rejects when there is no model yet. */
  warmup: () => Promise<void>;
  /** The push endpoint, in push mode only. */
  push?: (req: Request, res: Response) => Promise<void>;
}

// While the model loads (seconds to a minute on a cold GPU instance), ask probes to come back soon.
const READY_RETRY_AFTER_S = 5;
// A push envelope carries one message of at most 10 MB, base64 (+33 %).
const PUSH_BODY_LIMIT = '14mb';

/**
 * The worker's HTTP surface. /healthz must answer even when the model never loads: it says
 * the process is alive, which a restart would not fix.
 */
export function createHttpApp(deps: HttpDeps): Express {
  const app = express();
  app.disable('x-powered-by');

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  app.get('/readyz', (_req, res) => {
    const s = deps.readiness.state;
    if (s.phase === 'ready') {
      // `batching` says whether batches are used and why (a refused batch is visible without the logs).
      res.json({ status: 'ready', model: s.model.id, provider: s.model.provider, warm: s.warm, ...(s.model.batching ? { batching: s.model.batching } : {}) });
      return;
    }
    res
      .status(503)
      .set('Retry-After', String(READY_RETRY_AFTER_S))
      .json({ status: s.phase, ...('reason' in s && s.reason ? { reason: s.reason } : {}) });
  });

  const warmup = async (_req: Request, res: Response): Promise<void> => {
    if (!deps.readiness.isReady) {
      res.status(503).set('Retry-After', String(READY_RETRY_AFTER_S)).json({ status: deps.readiness.state.phase });
      return;
    }
    const t0 = performance.now();
    try {
      await deps.warmup();
      res.json({ status: 'warm', ms: Math.round(performance.now() - t0) });
    } catch (err) {
      res.status(500).json({ status: 'error', error: err instanceof Error ? err.message : String(err) });
    }
  };
  app.get('/warmup', warmup);
  app.post('/warmup', warmup);

  app.get('/metrics', async (_req, res) => {
    res.set('Content-Type', deps.registry.contentType).send(await deps.registry.metrics());
  });

  if (deps.push) {
    const push = deps.push;
    app.post('/pubsub/push', express.json({ limit: PUSH_BODY_LIMIT }), (req, res, next) => {
      push(req, res).catch(next);
    });
  }
  return app;
}
