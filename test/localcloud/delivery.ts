/**
 * POSTs one CloudEvent to one function URL with Eventarc's retry rules. Eventarc delivers
 * through a Pub/Sub push subscription, which takes any answer but 2xx (and any connection
 * failure) as a nack: with retries on, the event comes again with exponential backoff until
 * it is 24 h old, so a function that was misdeployed (404) or crashing gets its events once
 * fixed; with retries off (a function deployed without "retry on failure") it is dropped
 * after the first failed attempt.
 */
import type { HttpCloudEvent } from './cloudevents.js';

export interface RetrySettings {
  /** The trigger's retry policy: false delivers once and drops a failure. */
  retries: boolean;
  /** Delay before the second attempt. */
  initialDelayMs: number;
  /** Cap on any one delay. */
  maxDelayMs: number;
  /** Each delay is the previous one times this. */
  factor: number;
  /** Retries stop once the event is this old (Eventarc: 24 h); then it is recorded as failed. */
  maxAgeMs: number;
  /** A cap on attempts, the first included, for tests that want to see the end quickly. */
  maxAttempts?: number;
  /** One request's limit; a function that hangs counts as a failed attempt. */
  requestTimeoutMs: number;
}

/**
 * Eventarc's rules with its delays compressed for a laptop: 1-10 s between attempts instead
 * of 10-600 s, for the same 24 h, so a function fixed and restarted gets its events soon.
 */
export const DEFAULT_RETRY: Readonly<RetrySettings> = {
  retries: true,
  initialDelayMs: 1_000,
  maxDelayMs: 10_000,
  factor: 2,
  maxAgeMs: 24 * 3600_000,
  requestTimeoutMs: 60_000,
};

/** Settings that make retries visible in a test within a second. */
export const FAST_RETRY: Readonly<RetrySettings> = {
  retries: true,
  maxAgeMs: 24 * 3600_000,
  initialDelayMs: 50,
  maxDelayMs: 400,
  factor: 2,
  maxAttempts: 4,
  requestTimeoutMs: 10_000,
};

export type Verdict = 'delivered' | 'retry' | 'drop';

/**
 * What a function's HTTP status means for the event: Pub/Sub push acks on 2xx only (102 is
 * not a final answer over HTTP/1.1 fetch), everything else is a nack.
 * @example verdictFor(404, { retries: true }) === 'retry'
 */
export function verdictFor(status: number, s: Pick<RetrySettings, 'retries'>): Verdict {
  if (status >= 200 && status < 300) return 'delivered';
  return s.retries ? 'retry' : 'drop';
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
  const firstAt = Date.now();
  for (let attempt = 1; ; attempt++) {
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
      verdict = verdictFor(res.status, settings);
      error = verdict === 'delivered' ? undefined : `HTTP ${res.status}${text ? `: ${text.slice(0, 500)}` : ''}`;
      attempts.push({ at, status: res.status });
    } catch (err) {
      if (signal.aborted) return { outcome: 'aborted', attempts, ...rest(httpStatus, error) };
      error = describe(err);
      verdict = settings.retries ? 'retry' : 'drop';
      attempts.push({ at, error });
    }
    if (verdict === 'delivered') return { outcome: 'delivered', attempts, ...rest(httpStatus, undefined) };
    if (verdict === 'drop') return { outcome: 'dropped', attempts, ...rest(httpStatus, error) };
    const wait = backoffMs(attempt, settings);
    const capped = settings.maxAttempts !== undefined && attempt >= settings.maxAttempts;
    if (capped || Date.now() + wait - firstAt > settings.maxAgeMs) return { outcome: 'failed', attempts, ...rest(httpStatus, error) };
    await sleep(wait, signal);
  }
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
