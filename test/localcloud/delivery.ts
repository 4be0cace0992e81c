/**
 * POSTs one CloudEvent to one function URL with Eventarc's retry rules: 2xx is delivered,
 * 408/429/5xx and connection failures are retried with exponential backoff, any other status
 * is dropped at once (retrying a 4xx cannot help).
 */
import type { HttpCloudEvent } from './cloudevents.js';

export interface RetrySettings {
  /** Delay before the second attempt. */
  initialDelayMs: number;
  /** Cap on any one delay. */
  maxDelayMs: number;
  /** Each delay is the previous one times this. */
  factor: number;
  /** Attempts in all, the first included; then the delivery is recorded as failed. */
  maxAttempts: number;
  /** One request's limit; a function that hangs counts as a failed attempt. */
  requestTimeoutMs: number;
}

/** Eventarc retries for up to 24 h from 10 s; locally, a minute is plenty to see a retry. */
export const DEFAULT_RETRY: Readonly<RetrySettings> = {
  initialDelayMs: 1_000,
  maxDelayMs: 10_000,
  factor: 2,
  maxAttempts: 6,
  requestTimeoutMs: 60_000,
};

/** Settings that make retries visible in a test within a second. */
export const FAST_RETRY: Readonly<RetrySettings> = {
  initialDelayMs: 50,
  maxDelayMs: 400,
  factor: 2,
  maxAttempts: 4,
  requestTimeoutMs: 10_000,
};

export type Verdict = 'delivered' | 'retry' | 'drop';

/** What a function's HTTP status means for the event. @example verdictFor(503) === 'retry' */
export function verdictFor(status: number): Verdict {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 408 || status === 429 || status >= 500) return 'retry';
  return 'drop';
}

/** Milliseconds to wait after failed attempt `attempt` (1-based). @example backoffMs(3, {initialDelayMs: 100, factor: 2, maxDelayMs: 1000}) === 400 */
export function backoffMs(attempt: number, s: Pick<RetrySettings, 'initialDelayMs' | 'maxDelayMs' | 'factor'>): number {
  return Math.min(s.initialDelayMs * s.factor ** (attempt - 1), s.maxDelayMs);
}

export type Outcome = 'delivered' | 'failed' | 'dropped' | 'aborted';

export interface AttemptResult {
  /** When the attempt started (epoch ms). */
  at: number;
  status?: number;
  error?: string;
}

export interface DeliveryResult {
  outcome: Outcome;
  attempts: AttemptResult[];
  /** Status of the last attempt that got an answer. */
  httpStatus?: number;
  /** Last error, or the body of the last non-2xx answer (truncated). */
  error?: string;
}

/**
 * Deliver `event` to `url`. Resolves (never rejects) with what happened; `signal` aborts
 * between or during attempts, with outcome 'aborted' so the caller can nack for redelivery.
 */
export async function deliver(event: HttpCloudEvent, url: string, settings: RetrySettings, signal: AbortSignal): Promise<DeliveryResult> {
  const attempts: AttemptResult[] = [];
  let httpStatus: number | undefined;
  let error: string | undefined;
  for (let attempt = 1; attempt <= settings.maxAttempts; attempt++) {
    if (signal.aborted) return { outcome: 'aborted', attempts, ...rest(httpStatus, error) };
    const at = Date.now();
    let verdict: Verdict;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: event.headers,
        body: event.body,
        signal: AbortSignal.any([signal, AbortSignal.timeout(settings.requestTimeoutMs)]),
      });
      const text = await res.text();
      httpStatus = res.status;
      verdict = verdictFor(res.status);
      error = verdict === 'delivered' ? undefined : `HTTP ${res.status}${text ? `: ${text.slice(0, 500)}` : ''}`;
      attempts.push({ at, status: res.status });
    } catch (err) {
      if (signal.aborted) return { outcome: 'aborted', attempts, ...rest(httpStatus, error) };
      error = describe(err);
      verdict = 'retry';
      attempts.push({ at, error });
    }
    if (verdict === 'delivered') return { outcome: 'delivered', attempts, ...rest(httpStatus, undefined) };
    if (verdict === 'drop') return { outcome: 'dropped', attempts, ...rest(httpStatus, error) };
    if (attempt < settings.maxAttempts) await sleep(backoffMs(attempt, settings), signal);
  }
  return { outcome: 'failed', attempts, ...rest(httpStatus, error) };
}

function rest(httpStatus: number | undefined, error: string | undefined): Pick<DeliveryResult, 'httpStatus' | 'error'> {
  return { ...(httpStatus !== undefined && { httpStatus }), ...(error !== undefined && { error }) };
}

// fetch hides the useful part (ECONNREFUSED, timeout) in `cause`.
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause as { code?: string; message?: string } | undefined;
  if (err.name === 'TimeoutError') return 'request timed out';
  return cause?.code ? `${err.message} (${cause.code})` : cause?.message ? `${err.message} (${cause.message})` : err.message;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });
}
