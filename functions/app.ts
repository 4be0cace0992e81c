import { ConfigError, type Env } from '../shared/config.js';
import { createLogger, type Logger } from '../shared/logger.js';
import { loadFunctionsConfig, type FunctionsConfig } from './config.js';
import { createUploadHandler, type HttpHandler } from './create-upload.js';
import { createDeadLetterHandler } from './dead-letter.js';
import type { Deps } from './deps.js';
import { createFinalizeHandler } from './finalize.js';
import { getStatusHandler } from './get-status.js';
import { sendError } from './http.js';
import { EVENTS } from './log-events.js';

export interface Functions {
  createUpload: HttpHandler;
  getStatus: HttpHandler;
  onObjectFinalized: (event: unknown) => Promise<unknown>;
  onDeadLetter: (event: unknown) => Promise<unknown>;
}

/** The four handlers over one set of dependencies. */
export function buildFunctions(config: FunctionsConfig, deps: Deps): Functions {
  const origins = config.ALLOWED_ORIGINS;
  return {
    createUpload: createUploadHandler(deps, {
      uploadsBucket: config.UPLOADS_BUCKET,
      maxUploadBytes: config.MAX_UPLOAD_BYTES,
      signedUrlTtlSeconds: config.SIGNED_URL_TTL_SECONDS,
      allowedOrigins: origins,
      rateLimit: { perMinute: config.RATE_LIMIT_PER_MINUTE, burst: config.RATE_LIMIT_BURST },
      publicBaseUrl: config.PUBLIC_BASE_URL,
      trustedProxyHops: config.TRUSTED_PROXY_HOPS,
    }),
    getStatus: getStatusHandler(deps, { uploadsBucket: config.UPLOADS_BUCKET, resultsBucket: config.RESULTS_BUCKET, downloadUrlTtlSeconds: config.DOWNLOAD_URL_TTL_SECONDS, allowedOrigins: origins }),
    onObjectFinalized: createFinalizeHandler(deps, {
      uploadsBucket: config.UPLOADS_BUCKET,
      jobsTopic: config.JOBS_TOPIC,
      completionsTopic: config.COMPLETIONS_TOPIC,
      limits: { maxBytes: config.MAX_UPLOAD_BYTES, minSidePx: config.MIN_SIDE_PX, maxSidePx: config.MAX_SIDE_PX, maxPixels: config.MAX_PIXELS },
    }),
    onDeadLetter: createDeadLetterHandler(deps, { completionsTopic: config.COMPLETIONS_TOPIC }),
  };
}

/**
 * Handlers that parse the configuration on first use, not at import: a bad environment
 * must not crash the module load (the old service's outage). Instead it is reported once
 * as one message listing every problem; HTTP calls then answer 503 and events throw, so
 * the platform keeps redelivering them until the configuration is fixed.
 */
export function lazyFunctions(
  env: () => Env,
  makeDeps: (config: FunctionsConfig) => Deps,
  fallbackLog: Logger = createLogger({ component: 'functions' }),
): Functions & { allowedOrigins(): readonly string[] } {
  let built: Functions | undefined;
  let origins: readonly string[] = [];
  let failure: ConfigError | undefined;

  function get(): Functions | ConfigError {
    if (built) return built;
    if (failure) return failure;
    try {
      const config = loadFunctionsConfig(env());
      origins = config.ALLOWED_ORIGINS;
      built = buildFunctions(config, makeDeps(config));
      return built;
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      failure = err;
      fallbackLog.fatal({ event: EVENTS.config.invalid, problems: err.problems }, err.message);
      return err;
    }
  }

  const http =
    (name: 'createUpload' | 'getStatus'): HttpHandler =>
    async (req, res) => {
      const fns = get();
      if (fns instanceof ConfigError) return sendError(res, 503, 'misconfigured', 'the service is misconfigured; operators have been alerted');
      try {
        await fns[name](req, res);
      } catch (err) {
        // The handlers answer every input themselves; this is a bug, and it must not reach the
        // framework, whose crash answer is plain text with the error's message.
        fallbackLog.error({ event: EVENTS.http.handler_crashed, handler: name, err }, 'unhandled error in an HTTP handler');
        if (!res.headersSent) sendError(res, 500, 'internal', 'something went wrong on our side; try again shortly');
      }
    };
  const event =
    (name: 'onObjectFinalized' | 'onDeadLetter') =>
    async (e: unknown): Promise<unknown> => {
      const fns = get();
      if (fns instanceof ConfigError) throw fns;
      return fns[name](e);
    };
  return {
    createUpload: http('createUpload'),
    getStatus: http('getStatus'),
    onObjectFinalized: event('onObjectFinalized'),
    onDeadLetter: event('onDeadLetter'),
    // For answers given before a handler runs (framework-errors.ts): empty until configured.
    allowedOrigins: () => {
      get();
      return origins;
    },
  };
}
