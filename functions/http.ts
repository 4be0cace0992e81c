/**
 * The slice of express' request and response the HTTP handlers use, so tests can pass
 * plain objects. functions-framework hands real express objects, which satisfy these.
 */
export interface HttpRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
  socket?: { remoteAddress?: string | undefined; encrypted?: boolean };
}

export interface HttpResponse {
  /** Set once the head is written (express); fakes may leave it out. */
  readonly headersSent?: boolean;
  status(code: number): HttpResponse;
  set(field: string, value: string): HttpResponse;
  send(body?: unknown): unknown;
  end(): unknown;
}

export function header(req: HttpRequest, name: string): string | undefined {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** JSON error body with a machine code and a sentence a person can act on. */
export function sendError(res: HttpResponse, status: number, code: string, message: string, extra: Record<string, unknown> = {}): void {
  res.status(status).set('Content-Type', 'application/json').set('Cache-Control', 'no-store').send(JSON.stringify({ error: { code, message, ...extra } }));
}

export function sendJson(res: HttpResponse, status: number, body: unknown): void {
  res.status(status).set('Content-Type', 'application/json').send(JSON.stringify(body));
}

/**
 * The rate-limit key: the address the trusted front end appended to X-Forwarded-For.
 *
 * Google's front end (Cloud Run / Cloud Functions gen2, and so API Gateway's backend calls)
 * appends the address it saw to whatever X-Forwarded-For the client sent, so only the
 * right-most `trustedHops` entries are ours to trust; everything left of them is whatever the
 * client wrote, and keying on it let a fresh header per request bypass the limit. With 1 (the
 * default) the key is the right-most entry. Without the header (no front end: local runs),
 * the socket peer.
 * @example clientKey({ headers: { 'x-forwarded-for': '1.2.3.4, 203.0.113.9' }, ... }) // '203.0.113.9'
 */
export function clientKey(req: HttpRequest, trustedHops = 1): string {
  const values = req.headers['x-forwarded-for'];
  // Several header lines are one list, in order (RFC 9110 5.3).
  const hops = (Array.isArray(values) ? values.join(',') : (values ?? ''))
    .split(',')
    .map((h) => h.trim())
    .filter(Boolean);
  if (hops.length === 0) return req.socket?.remoteAddress || 'unknown';
  // Fewer entries than trusted hops: the left-most one was still appended by a trusted proxy.
  return hops[Math.max(0, hops.length - trustedHops)] ?? 'unknown';
}

/** Whether the body was sent as JSON (`application/json`, any parameters). */
export function isJsonRequest(req: HttpRequest): boolean {
  const type = header(req, 'content-type')?.split(';')[0]?.trim().toLowerCase();
  return type === 'application/json';
}

// A host name or IPv4 address, or a bracketed IPv6 address, with an optional port.
const HOST = /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?$/i;

/**
 * `scheme://host` of this request, for absolute URLs when PUBLIC_BASE_URL is unset. The
 * Host header routed the request here (Google's front end routes on it, so in production it
 * is one of our own names) and X-Forwarded-Proto is set by that front end; without a front
 * end both are the caller's own, which only shapes the URL handed back to that same caller.
 * Undefined when the Host is missing or not a host name.
 */
export function requestOrigin(req: HttpRequest): string | undefined {
  const host = header(req, 'host')?.trim();
  if (!host || !HOST.test(host)) return undefined;
  const proto = header(req, 'x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase();
  const scheme = proto === 'https' || proto === 'http' ? proto : req.socket?.encrypted ? 'https' : 'http';
  return `${scheme}://${host.toLowerCase()}`;
}

export interface CorsPolicy {
  allowedOrigins: readonly string[];
  methods: readonly string[];
  requestHeaders: readonly string[];
  exposedHeaders: readonly string[];
  /**
   * Answer 403 to any request whose Origin is present and not allowed, before any work. A
   * browser sends "simple" requests (a text/plain POST) cross-origin without a preflight,
   * and withholding CORS headers only hides the answer from the page, not the side effects.
   */
  refuseOtherOrigins?: boolean;
}

// Browsers cache a preflight for at most 2 h (Chromium) anyway.
const PREFLIGHT_MAX_AGE_S = 3600;

/**
 * Apply CORS headers for an allowed origin. Returns true when the request has been answered:
 * a preflight, or (with `refuseOtherOrigins`) a request from an origin outside the allowlist.
 * A disallowed origin gets no CORS headers (the browser blocks it); its preflight is answered
 * 403 so the failure is visible in devtools. A request without Origin (curl, a server) is
 * not a browser's cross-origin request and is let through.
 */
export function applyCors(req: HttpRequest, res: HttpResponse, policy: CorsPolicy): boolean {
  const origin = header(req, 'origin');
  res.set('Vary', 'Origin');
  const allowed = origin !== undefined && (policy.allowedOrigins.includes(origin) || policy.allowedOrigins.includes('*'));
  if (allowed) {
    res.set('Access-Control-Allow-Origin', origin);
    if (policy.exposedHeaders.length) res.set('Access-Control-Expose-Headers', policy.exposedHeaders.join(', '));
  }
  if (req.method !== 'OPTIONS') {
    if (!allowed && origin !== undefined && policy.refuseOtherOrigins) {
      sendError(res, 403, 'origin_not_allowed', `origin ${JSON.stringify(origin)} is not allowed to use this API`);
      return true;
    }
    return false;
  }
  if (!allowed) {
    sendError(res, 403, 'origin_not_allowed', `origin ${JSON.stringify(origin ?? '')} is not allowed`);
    return true;
  }
  res
    .status(204)
    .set('Access-Control-Allow-Methods', policy.methods.join(', '))
    .set('Access-Control-Allow-Headers', policy.requestHeaders.join(', '))
    .set('Access-Control-Max-Age', String(PREFLIGHT_MAX_AGE_S))
    .end();
  return true;
}
