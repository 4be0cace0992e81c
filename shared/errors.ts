/**
 * The error taxonomy. Every failure is either permanent (the input or request can never
 * succeed: record it, tell the user, do not retry) or retryable (infrastructure: let the
 * platform redeliver). `classify` is the one place that decides.
 */
export const PERMANENT_CODES = [
  'bad_request',
  'empty',
  'too_large',
  'too_small',
  'pixel_limit',
  'unsupported_format',
  'content_type_mismatch',
  'corrupt',
  'animated',
  'invalid_message',
  'source_changed',
  'source_missing',
  'model_contract',
  'model_checksum',
  'dead_lettered',
  // The model found no subject in the photo (gpu-worker/pipeline/alpha/decide.ts).
  'no_subject',
] as const;
/**
 * `not_found` and `permission_denied` are retryable because outside the one place a missing
 * object is the input's fault (the original, see gpu-worker/service/source.ts) they mean a
 * misconfiguration: a deleted topic or bucket, a lost IAM grant. Failing every job for the
 * user would hide it; retrying sends the jobs down the dead-letter path, which alerts.
 */
export const RETRYABLE_CODES = ['unavailable', 'timeout', 'conflict', 'model_not_ready', 'not_found', 'permission_denied', 'internal'] as const;
export type PermanentCode = (typeof PERMANENT_CODES)[number];
export type RetryableCode = (typeof RETRYABLE_CODES)[number];
export type ErrorCode = PermanentCode | RetryableCode;

export class PipelineError extends Error {
  override readonly name: string = 'PipelineError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The input can never succeed. @example throw new PermanentError('corrupt', 'JPEG data ends early') */
export class PermanentError extends PipelineError {
  override readonly name = 'PermanentError';
  constructor(code: PermanentCode, message: string, options?: { cause?: unknown }) {
    super(code, message, false, options);
  }
}

/** Try again later. @example throw new RetryableError('unavailable', 'storage answered 503', { cause }) */
export class RetryableError extends PipelineError {
  override readonly name = 'RetryableError';
  constructor(code: RetryableCode, message: string, options?: { cause?: unknown }) {
    super(code, message, true, options);
  }
}

export interface Classification {
  code: ErrorCode;
  retryable: boolean;
  message: string;
}

// gRPC status codes that a retry can fix (UNAVAILABLE, DEADLINE_EXCEEDED, ABORTED, INTERNAL,
// RESOURCE_EXHAUSTED, CANCELLED, UNKNOWN), and the configuration ones that an operator's fix
// does (NOT_FOUND, PERMISSION_DENIED, UNAUTHENTICATED).
const RETRYABLE_GRPC = new Set([1, 2, 4, 8, 10, 13, 14]);
const GRPC_NOT_FOUND = 5;
const GRPC_PERMISSION = new Set([7, 16]);
const RETRYABLE_NET = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT']);

/**
 * Decide, once and purely, whether `err` is permanent or retryable, with a code.
 * Unknown errors are retryable: a bug then ends in the dead-letter path with a record,
 * never as a silently dropped job.
 * @example classify(new PermanentError('animated', 'x')) // { code: 'animated', retryable: false, ... }
 */
export function classify(err: unknown): Classification {
  if (err instanceof PipelineError) return { code: err.code, retryable: err.retryable, message: err.message };
  const message = err instanceof Error ? err.message : String(err);
  const e = (typeof err === 'object' && err !== null ? err : {}) as { code?: unknown; status?: unknown; name?: unknown };
  const httpStatus = typeof e.code === 'number' && e.code >= 100 ? e.code : typeof e.status === 'number' ? e.status : undefined;
  if (httpStatus !== undefined) {
    if (httpStatus === 412 || httpStatus === 409) return { code: 'conflict', retryable: true, message };
    if (httpStatus === 408 || httpStatus === 429 || httpStatus >= 500) return { code: 'unavailable', retryable: true, message };
    if (httpStatus === 404) return { code: 'not_found', retryable: true, message };
    if (httpStatus === 401 || httpStatus === 403) return { code: 'permission_denied', retryable: true, message };
    if (httpStatus >= 400) return { code: 'bad_request', retryable: false, message };
  }
  if (typeof e.code === 'number' && e.code < 100) {
    if (RETRYABLE_GRPC.has(e.code)) return { code: 'unavailable', retryable: true, message };
    if (e.code === GRPC_NOT_FOUND) return { code: 'not_found', retryable: true, message };
    if (GRPC_PERMISSION.has(e.code)) return { code: 'permission_denied', retryable: true, message };
    return { code: 'bad_request', retryable: false, message };
  }
  if (typeof e.code === 'string' && RETRYABLE_NET.has(e.code)) return { code: 'unavailable', retryable: true, message };
  if (e.name === 'AbortError' || e.name === 'TimeoutError') return { code: 'timeout', retryable: true, message };
  return { code: 'internal', retryable: true, message };
}
