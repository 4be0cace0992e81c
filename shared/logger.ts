import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export type { Logger } from 'pino';

// pino levels -> Cloud Logging severities (https://cloud.google.com/logging/docs/structured-logging).
const SEVERITY: Record<string, string> = {
  trace: 'DEBUG',
  debug: 'DEBUG',
  info: 'INFO',
  warn: 'WARNING',
  error: 'ERROR',
  fatal: 'CRITICAL',
};

export interface LoggerSettings {
  level?: string;
  component: string;
  /** Project id, so trace ids become the `projects/P/traces/T` form Cloud Logging links. */
  projectId?: string;
}

/**
 * A pino logger writing one JSON line per event in the shape Cloud Logging parses:
 * `severity`, `message`, `time`, and `logging.googleapis.com/trace` from a `traceparent`.
 * @example createLogger({ component: 'worker' }).child({ jobId }).info({ event: EVENTS.job.processing }, 'job processing') // names: shared/log-events.ts
 */
export function createLogger(settings: LoggerSettings, destination?: DestinationStream): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? 'info',
    messageKey: 'message',
    timestamp: pino.stdTimeFunctions.isoTime,
    base: { component: settings.component },
    formatters: {
      level: (label) => ({ severity: SEVERITY[label] ?? 'DEFAULT' }),
      log: (object) => withTrace(object, settings.projectId),
    },
    serializers: { err: pino.stdSerializers.err },
  };
  return destination ? pino(options, destination) : pino(options);
}

function withTrace(object: Record<string, unknown>, projectId?: string): Record<string, unknown> {
  const traceparent = object['traceparent'];
  if (typeof traceparent !== 'string') return object;
  const [, traceId, spanId] = traceparent.split('-');
  if (!traceId || !spanId) return object;
  const { traceparent: _drop, ...rest } = object;
  return {
    ...rest,
    'logging.googleapis.com/trace': projectId ? `projects/${projectId}/traces/${traceId}` : traceId,
    'logging.googleapis.com/spanId': spanId,
  };
}
