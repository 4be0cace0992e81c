// @ts-check
/**
 * petcutout's browser client: check a photo against the server's limits, ask createUpload for
 * a signed URL, PUT the photo straight to Cloud Storage with upload progress, then poll
 * getStatus until the cut-out is ready. Plain ESM without dependencies: it runs unbundled in a
 * `<script type="module">` and through any bundler; types in cutout.d.ts (from schemas/).
 *
 *   const cutout = createCutoutClient({ createUploadUrl, getStatusUrl });
 *   const job = await cutout.upload(file, { onProgress, signal });
 *   const { downloads, quality } = await job.result({ onStatus, onPreview });
 *
 * Every failure is a CutoutError whose `code` a program can branch on and whose `message` a
 * shop can show as it is; `detail` keeps the technical text for the console.
 */

/**
 * @typedef {import('./types.js').ClientConfig} ClientConfig
 * @typedef {import('./types.js').CutoutClient} CutoutClient
 * @typedef {import('./types.js').CutoutErrorCode} CutoutErrorCode
 * @typedef {import('./types.js').CutoutErrorOptions} CutoutErrorOptions
 * @typedef {import('./types.js').CutoutJob} CutoutJob
 * @typedef {import('./types.js').CutoutResult} CutoutResult
 * @typedef {import('./types.js').FileLike} FileLike
 * @typedef {import('./types.js').JobStatus} JobStatus
 * @typedef {import('./types.js').OutputKind} OutputKind
 * @typedef {import('./types.js').ResponseLike} ResponseLike
 * @typedef {import('./types.js').ResultOptions} ResultOptions
 * @typedef {import('./types.js').UploadLimits} UploadLimits
 * @typedef {import('./types.js').UploadOptions} UploadOptions
 * @typedef {import('./types.js').UploadTicket} UploadTicket
 * @typedef {import('./types.js').XhrLike} XhrLike
 * @typedef {{ status: number, headers: { get(name: string): string | null }, body: any }} Answer
 */

const TERMINAL = new Set(['succeeded', 'failed', 'rejected']);
const MB = 1024 * 1024;
// A ticket refused for load is asked for again while the server's wait stays this short.
const MAX_TICKET_WAIT_MS = 10_000;
const TICKET_ATTEMPTS = 3;
// Polls that fail at the network level in a row before the job is given up.
const MAX_POLL_NETWORK_FAILURES = 5;

/** Shopper-facing sentences, one per code; the server's own text goes to `detail`. */
const MESSAGES = {
  rate_limited: 'Too many photos at once. Please wait a minute and try again.',
  network: 'The photo service cannot be reached. Please check your connection and try again.',
  cors: 'Photo cut-outs are not available on this site right now: the photo service does not accept requests from this address. Please let the shop know.',
  timeout: 'The photo service is taking too long to answer. Please try again.',
  aborted: 'The upload was cancelled.',
  unavailable: 'The photo service is busy right now. Please try again in a moment.',
  upload_failed: 'The photo could not be uploaded. Please try again.',
  upload_expired: 'The upload took too long and its link has expired. Please choose the photo again.',
  download_failed: 'The finished photo could not be downloaded. Please try again.',
  not_found: 'This photo cannot be found any more. Please upload it again.',
  bad_response: 'The photo service gave an answer this page does not understand. Please try again later.',
  refused: 'The photo service refused this photo. Please try another one.',
  rejected: 'This photo cannot be used. Please choose another photo.',
  failed: 'Something went wrong while cutting out this photo. Please try again.',
};

const TYPE_NAMES = /** @type {Record<string, string>} */ ({ 'image/jpeg': 'JPEG', 'image/png': 'PNG', 'image/webp': 'WebP' });
const EXTENSION_TYPES = /** @type {Record<string, string>} */ ({ jpg: 'image/jpeg', jpeg: 'image/jpeg', jfif: 'image/jpeg', png: 'image/png', webp: 'image/webp' });

export class CutoutError extends Error {
  /**
   * @param {CutoutErrorCode} code
   * @param {string} message
   * @param {CutoutErrorOptions} [options]
   */
  constructor(code, message, options = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CutoutError';
    /** @type {CutoutErrorCode} */
    this.code = code;
    /** @type {number | undefined} */
    this.status = options.status;
    /** @type {string | undefined} */
    this.detail = options.detail;
    /** @type {boolean} */
    this.retryable = options.retryable ?? false;
    /** @type {number | undefined} */
    this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * @param {keyof typeof MESSAGES} code
 * @param {CutoutErrorOptions} [options]
 */
function failure(code, options) {
  return new CutoutError(code, MESSAGES[code], options);
}

/** @param {AbortSignal | undefined} signal */
function throwIfAborted(signal) {
  if (signal?.aborted) throw failure('aborted', { cause: signal.reason });
}

/**
 * `Retry-After` in milliseconds: delta-seconds or an HTTP date.
 * @param {string | null} value
 * @param {number} now
 * @returns {number | undefined}
 */
export function parseRetryAfter(value, now) {
  if (value === null || value.trim() === '') return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * The content type the ticket declares: the browser's, or the extension's when the browser
 * gives none (some systems do not know .webp).
 * @param {FileLike} file
 */
export function contentTypeOf(file) {
  if (file.type) return file.type.toLowerCase();
  const ext = /\.([a-z0-9]+)$/i.exec(file.name ?? '')?.[1]?.toLowerCase();
  return (ext && EXTENSION_TYPES[ext]) || '';
}

/** @param {number} bytes */
function megabytes(bytes) {
  const mb = bytes / MB;
  return mb >= 10 ? String(Math.round(mb)) : mb.toFixed(1).replace(/\.0$/, '');
}

/**
 * @param {FileLike} file
 * @param {UploadLimits} limits
 */
function checkFile(file, limits) {
  const type = contentTypeOf(file);
  if (!(/** @type {readonly string[]} */ (limits.contentTypes).includes(type))) {
    const names = limits.contentTypes.map((t) => TYPE_NAMES[t] ?? t);
    const list = names.length > 1 ? `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}` : names[0];
    throw new CutoutError('unsupported_type', `This file is not a ${list} photo. Please choose a photo in one of those formats (iPhone HEIC photos can be exported as JPEG).`, {
      detail: `content type ${JSON.stringify(file.type)} of ${JSON.stringify(file.name ?? '')} is not one of ${limits.contentTypes.join(', ')}`,
    });
  }
  if (file.size > limits.maxUploadBytes) {
    throw new CutoutError('too_large', `This photo is ${megabytes(file.size)} MB; photos up to ${megabytes(limits.maxUploadBytes)} MB are accepted. Please choose a smaller photo.`, {
      detail: `${file.size} bytes > maxUploadBytes ${limits.maxUploadBytes}`,
    });
  }
  if (file.size === 0) throw new CutoutError('rejected:empty', 'This file is empty. Please choose the photo again.', { detail: 'size 0' });
}

/**
 * A CutoutError for an HTTP answer from the functions (JSON body `{ error: { code, message } }`).
 * @param {Answer} answer
 * @param {number} now
 */
function answerError(answer, now) {
  const error = answer.body && typeof answer.body === 'object' ? answer.body.error : undefined;
  const serverCode = typeof error?.code === 'string' ? error.code : undefined;
  const detail = typeof error?.message === 'string' ? error.message : `HTTP ${answer.status}`;
  const retryAfterMs = parseRetryAfter(answer.headers.get('retry-after'), now);
  /** @type {CutoutErrorOptions} */
  const options = { status: answer.status, detail, ...(retryAfterMs !== undefined && { retryAfterMs }) };
  if (answer.status === 429 || serverCode === 'rate_limited') return failure('rate_limited', { ...options, retryable: true });
  if (serverCode === 'too_large') return new CutoutError('too_large', 'This photo is too big. Please choose a smaller photo.', options);
  const fields = Array.isArray(error?.fields) ? error.fields : [];
  if (serverCode === 'bad_request' && fields.includes('contentType')) {
    return new CutoutError('unsupported_type', 'This file type is not accepted. Please choose a JPEG, PNG or WebP photo.', options);
  }
  if (answer.status === 404) return failure('not_found', options);
  if (answer.status >= 500) return failure('unavailable', { ...options, retryable: true });
  return new CutoutError(serverCode ?? `http_${answer.status}`, MESSAGES.refused, options);
}

/**
 * A CutoutError for a failed signed PUT: Storage answers XML (`<Code>EntityTooLarge</Code>`).
 * @param {number} status
 * @param {string} text
 */
function storageError(status, text) {
  const code = /<Code>([^<]+)<\/Code>/.exec(text)?.[1] ?? '';
  const detail = `Storage answered ${status}${code ? ` ${code}` : ''}: ${text.slice(0, 300)}`;
  if (code === 'EntityTooLarge' || status === 413) return new CutoutError('too_large', 'This photo is larger than it said it was. Please choose it again.', { status, detail });
  if (status === 400 && /expired/i.test(text)) return failure('upload_expired', { status, detail });
  if (status === 403 && /expired/i.test(text)) return failure('upload_expired', { status, detail });
  if (status >= 500) return failure('upload_failed', { status, detail, retryable: true });
  return failure('upload_failed', { status, detail });
}

/**
 * @param {number} ms
 * @param {AbortSignal} [signal]
 * @returns {Promise<void>}
 */
function defaultSleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(failure('aborted', { cause: signal.reason }));
    const onAbort = () => {
      clearTimeout(timer);
      reject(failure('aborted', { cause: signal?.reason }));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * @param {unknown} ticket
 * @returns {ticket is UploadTicket}
 */
function isTicket(ticket) {
  const t = /** @type {any} */ (ticket);
  return (
    !!t &&
    typeof t.jobId === 'string' &&
    typeof t.statusUrl === 'string' &&
    !!t.upload &&
    t.upload.method === 'PUT' &&
    typeof t.upload.url === 'string' &&
    !!t.upload.headers &&
    typeof t.upload.headers === 'object' &&
    Object.values(t.upload.headers).every((v) => typeof v === 'string')
  );
}

/** @type {import('./types.js').CreateCutoutClient} */
export const createCutoutClient = (config) => {
  const timeouts = { requestMs: 20_000, uploadStallMs: 30_000, jobMs: 600_000, statusAppearMs: 60_000, ...config.timeouts };
  const poll = { initialMs: 400, factor: 1.5, maxMs: 4_000, ...config.poll };
  const fetchImpl = config.fetch ?? /** @type {NonNullable<ClientConfig['fetch']>} */ (/** @type {unknown} */ (globalThis.fetch.bind(globalThis)));
  const Xhr = config.XMLHttpRequest ?? /** @type {new () => XhrLike} */ (/** @type {unknown} */ (globalThis.XMLHttpRequest));
  const sleep = config.sleep ?? defaultSleep;
  const now = config.now ?? Date.now;
  const uploadsUrl = new URL('uploads', withSlash(config.createUploadUrl)).href;
  /** @type {Promise<UploadLimits> | undefined} */
  let limitsPromise;

  /**
   * After a fetch() TypeError: was it the network, or did the browser refuse the answer for
   * CORS? A `no-cors` request gets an opaque answer from any server that answers at all, so
   * one that arrives means the server is up and the CORS check is what failed.
   * @param {string} url
   * @param {unknown} cause
   */
  async function unreachable(url, cause) {
    const probe = new AbortController();
    const timer = setTimeout(() => probe.abort(), 5_000);
    try {
      await fetchImpl(url, { method: 'GET', mode: 'no-cors', cache: 'no-store', credentials: 'omit', signal: probe.signal });
      return failure('cors', { cause, detail: `the browser refused the answer from ${new URL(url).origin} (CORS); the server is reachable. Add this page's origin to ALLOWED_ORIGINS and the buckets' CORS.` });
    } catch {
      return failure('network', { cause, detail: `no answer from ${new URL(url).origin}`, retryable: true });
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * One request with a time limit covering the body too; network and CORS failures named.
   * @param {string} url
   * @param {Record<string, unknown>} init
   * @param {AbortSignal | undefined} signal
   * @param {'json' | 'blob'} read
   * @returns {Promise<Answer>}
   */
  async function call(url, init, signal, read = 'json') {
    throwIfAborted(signal);
    const ctrl = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      ctrl.abort();
    }, timeouts.requestMs);
    const onAbort = () => ctrl.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      /** @type {ResponseLike} */
      let res;
      try {
        res = await fetchImpl(url, { mode: 'cors', credentials: 'omit', ...init, signal: ctrl.signal });
      } catch (err) {
        if (signal?.aborted) throw failure('aborted', { cause: err });
        if (timedOut) throw failure('timeout', { cause: err, detail: `no answer from ${url} within ${timeouts.requestMs} ms`, retryable: true });
        throw await unreachable(url, err);
      }
      let body;
      try {
        if (read === 'blob' && res.ok) body = await res.blob();
        else if (res.status !== 304 && init['method'] !== 'HEAD') {
          const text = await res.text();
          body = text && (res.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : text;
        }
      } catch (err) {
        if (signal?.aborted) throw failure('aborted', { cause: err });
        if (timedOut) throw failure('timeout', { cause: err, detail: `the answer from ${url} took over ${timeouts.requestMs} ms`, retryable: true });
        throw failure(err instanceof SyntaxError ? 'bad_response' : 'network', { cause: err, detail: String(err) });
      }
      return { status: res.status, headers: res.headers, body };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** @param {{ signal?: AbortSignal }} [options] */
  function limits(options = {}) {
    limitsPromise ??= (async () => {
      const answer = await call(uploadsUrl, { method: 'GET' }, options.signal);
      if (answer.status !== 200) throw answerError(answer, now());
      const l = answer.body;
      if (!l || typeof l.maxUploadBytes !== 'number' || !Array.isArray(l.contentTypes)) throw failure('bad_response', { detail: `limits: ${JSON.stringify(l).slice(0, 200)}` });
      return /** @type {UploadLimits} */ (l);
    })();
    // A failed look-up is not kept: the next upload asks again.
    limitsPromise.catch(() => (limitsPromise = undefined));
    return limitsPromise;
  }

  /**
   * @param {Record<string, unknown>} request
   * @param {AbortSignal | undefined} signal
   * @returns {Promise<UploadTicket>}
   */
  async function ticket(request, signal) {
    for (let attempt = 1; ; attempt++) {
      const answer = await call(uploadsUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(request) }, signal);
      if (answer.status === 201 || answer.status === 200) {
        if (!isTicket(answer.body)) throw failure('bad_response', { status: answer.status, detail: `ticket: ${JSON.stringify(answer.body).slice(0, 200)}` });
        return answer.body;
      }
      const err = answerError(answer, now());
      // Load shedding (429, 503) says when to come back; a short wait is worth it once or twice.
      const wait = err.retryAfterMs ?? 1000;
      if (!err.retryable || attempt >= TICKET_ATTEMPTS || wait > MAX_TICKET_WAIT_MS) throw err;
      await sleep(wait, signal);
    }
  }

  /**
   * The signed PUT, through XMLHttpRequest: fetch() reports no upload progress.
   * @param {UploadTicket} t
   * @param {FileLike} file
   * @param {UploadOptions} options
   * @returns {Promise<void>}
   */
  function put(t, file, options) {
    const { signal, onProgress } = options;
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(failure('aborted', { cause: signal.reason }));
      const xhr = new Xhr();
      /** @type {ReturnType<typeof setTimeout> | undefined} */
      let stall;
      let settled = false;
      /** @param {() => void} action */
      const settle = (action) => {
        if (settled) return;
        settled = true;
        clearTimeout(stall);
        signal?.removeEventListener('abort', onAbort);
        action();
      };
      const arm = () => {
        clearTimeout(stall);
        stall = setTimeout(() => {
          settle(() => reject(failure('timeout', { detail: `the upload sent nothing for ${timeouts.uploadStallMs} ms`, retryable: true })));
          xhr.abort();
        }, timeouts.uploadStallMs);
      };
      const onAbort = () => {
        settle(() => reject(failure('aborted', { cause: signal?.reason })));
        xhr.abort();
      };
      /** @param {number} loaded */
      const progress = (loaded) => onProgress?.({ loaded, total: file.size, fraction: file.size ? Math.min(1, loaded / file.size) : 1 });
      xhr.open('PUT', t.upload.url);
      for (const [name, value] of Object.entries(t.upload.headers)) xhr.setRequestHeader(name, value);
      xhr.upload.onprogress = (e) => {
        arm();
        progress(e.lengthComputable ? Math.min(e.loaded, file.size) : e.loaded);
      };
      xhr.onload = () =>
        settle(() => {
          if (xhr.status >= 200 && xhr.status < 300) {
            progress(file.size);
            resolve();
          } else reject(storageError(xhr.status, xhr.responseText ?? ''));
        });
      // status 0: no answer the page may read: the network, or a refused preflight.
      xhr.onerror = () => {
        if (settled) return;
        clearTimeout(stall);
        void unreachable(t.upload.url, undefined).then((err) => settle(() => reject(err)));
      };
      xhr.ontimeout = () => settle(() => reject(failure('timeout', { retryable: true })));
      xhr.onabort = () => settle(() => reject(failure('aborted')));
      signal?.addEventListener('abort', onAbort, { once: true });
      arm();
      progress(0);
      xhr.send(file);
    });
  }

  /**
   * @param {string} jobId
   * @param {string} statusUrl
   * @returns {CutoutJob}
   */
  function job(jobId, statusUrl) {
    return {
      jobId,
      statusUrl,
      result: (options = {}) => follow(jobId, statusUrl, options),
    };
  }

  /**
   * Poll until terminal: If-None-Match so an unchanged status costs a 304, intervals growing
   * while nothing changes and reset when something does, Retry-After honoured, an overall limit.
   * @param {string} jobId
   * @param {string} statusUrl
   * @param {ResultOptions} options
   * @returns {Promise<CutoutResult>}
   */
  async function follow(jobId, statusUrl, options) {
    const { signal, onStatus, onPreview } = options;
    const started = now();
    let interval = poll.initialMs;
    /** @type {string | undefined} */
    let etag;
    /** @type {string | undefined} */
    let lastKey;
    let seen = false;
    let previewSent = false;
    let networkFailures = 0;
    for (;;) {
      throwIfAborted(signal);
      if (now() - started > timeouts.jobMs) throw failure('timeout', { detail: `job ${jobId} not finished after ${timeouts.jobMs} ms`, retryable: true });
      /** @type {Answer} */
      let answer;
      try {
        answer = await call(statusUrl, { method: 'GET', cache: 'no-store', headers: etag ? { 'If-None-Match': etag } : {} }, signal);
        networkFailures = 0;
      } catch (err) {
        const retry = err instanceof CutoutError && (err.code === 'network' || err.code === 'timeout') && ++networkFailures < MAX_POLL_NETWORK_FAILURES;
        if (!retry) throw err;
        interval = Math.min(poll.maxMs, interval * poll.factor);
        await sleep(interval, signal);
        continue;
      }
      /** @type {number | undefined} */
      let retryAfterMs;
      let changed = false;
      if (answer.status === 200) {
        /** @type {JobStatus} */
        const status = answer.body;
        if (!status || typeof status !== 'object' || typeof status.state !== 'string') throw failure('bad_response', { status: 200, detail: `status: ${JSON.stringify(status).slice(0, 200)}` });
        seen = true;
        etag = answer.headers.get('etag') ?? undefined;
        // Download URLs are re-signed now and then: a new URL alone is no news.
        const key = JSON.stringify({ ...status, downloads: Object.keys(status.downloads ?? {}).sort() });
        if (key !== lastKey) {
          lastKey = key;
          changed = true;
          onStatus?.(status);
        }
        const preview = status.downloads?.['preview']?.url;
        if (preview && !previewSent) {
          previewSent = true;
          onPreview?.({ url: preview, status });
        }
        if (TERMINAL.has(status.state)) return settle(jobId, status);
      } else if (answer.status === 304) {
        // Unchanged.
      } else if (answer.status === 202 && !seen) {
        // `received`: the photo is in Storage, its check has not started yet (moments).
        if (now() - started > timeouts.statusAppearMs) throw failure('timeout', { status: 202, detail: `job ${jobId} still not checked after ${timeouts.statusAppearMs} ms`, retryable: true });
        retryAfterMs = parseRetryAfter(answer.headers.get('retry-after'), now());
      } else if (answer.status === 404 && !seen && now() - started < timeouts.statusAppearMs) {
        // Servers without the 202 answer: the status appears moments after the upload.
      } else if (answer.status === 429 || answer.status >= 500) {
        retryAfterMs = answerError(answer, now()).retryAfterMs;
      } else throw answerError(answer, now());
      // Soon after a change (the next step often follows quickly), slower while nothing moves.
      if (changed) interval = poll.initialMs;
      const wait = Math.max(interval, retryAfterMs ?? 0);
      interval = Math.min(poll.maxMs, interval * poll.factor);
      await sleep(Math.min(wait, Math.max(0, timeouts.jobMs - (now() - started)) + 1), signal);
    }
  }

  /**
   * @param {string} jobId
   * @param {JobStatus} status
   * @returns {CutoutResult}
   */
  function settle(jobId, status) {
    if (status.state === 'succeeded') {
      /** @type {CutoutResult['downloads']} */
      const downloads = {};
      for (const [kind, d] of Object.entries(status.downloads ?? {})) downloads[/** @type {OutputKind} */ (kind)] = d.url;
      return { jobId, status, downloads, ...(status.quality && { quality: status.quality }) };
    }
    const error = status.error;
    const code = error?.code ?? 'unknown';
    const which = status.state === 'rejected' ? 'rejected' : 'failed';
    const detail = /** @type {{ detail?: unknown }} */ (error ?? {}).detail;
    throw new CutoutError(`${which}:${code}`, error?.message || MESSAGES[which], {
      detail: typeof detail === 'string' ? detail : (error?.message ?? `job ${status.state} without an error`),
      retryable: error?.retryable ?? false,
    });
  }

  return {
    limits,
    checkFile,
    async upload(file, options = {}) {
      throwIfAborted(options.signal);
      const l = await limits({ ...(options.signal && { signal: options.signal }) });
      checkFile(file, l);
      const request = {
        contentType: contentTypeOf(file),
        contentLength: file.size,
        ...(options.outputs && { outputs: options.outputs }),
        ...(options.clientRef !== undefined && { clientRef: options.clientRef }),
      };
      const t = await ticket(request, options.signal);
      await put(t, file, options);
      // A relative statusUrl (older servers) is resolved against getStatus, not against the page.
      const statusUrl = /^https?:\/\//.test(t.statusUrl) ? t.statusUrl : new URL(`jobs/${encodeURIComponent(t.jobId)}`, withSlash(config.getStatusUrl)).href;
      return job(t.jobId, statusUrl);
    },
    async fetchOutput(url, options = {}) {
      const answer = await call(url, { method: 'GET' }, options.signal, 'blob');
      if (answer.status !== 200) {
        const text = typeof answer.body === 'string' ? answer.body : '';
        // An expired URL (403) is fixed by polling the status again, which signs fresh ones.
        throw failure('download_failed', { status: answer.status, detail: `Storage answered ${answer.status}: ${text.slice(0, 300)}`, retryable: true });
      }
      return answer.body;
    },
  };
};

/** @param {string} url */
function withSlash(url) {
  return url.endsWith('/') ? url : `${url}/`;
}
