/**
 * The slice of express' request and response the HTTP handlers use, so tests can pass
 * plain objects. functions-framework hands real express objects, which satisfy these.
 */
export interface HttpRequest {
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body?: unknown;
  socket?: { remoteAddress?: string | undefined };
}

export interface HttpResponse {
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
 * The rate-limit key: the first X-Forwarded-For hop (the client as the Google front end
 * saw it) or, without a proxy, the socket peer. Spoofable where no trusted proxy rewrites
 * the header, which is why the limit is a courtesy, not a security boundary.
 */
export function clientKey(req: HttpRequest): string {
  const forwarded = header(req, 'x-forwarded-for')?.split(',')[0]?.trim();
  return forwarded || req.socket?.remoteAddress || 'unknown';
}

export interface CorsPolicy {
  allowedOrigins: readonly string[];
  methods: readonly string[];
  requestHeaders: readonly string[];
  exposedHeaders: readonly string[];
}

// Browsers cache a preflight for at most 2 h (Chromium) anyway.
const PREFLIGHT_MAX_AGE_S = 3600;

/**
 * Apply CORS headers for an allowed origin. Returns true when the request was a preflight
 * and has been answered. A disallowed origin gets no CORS headers (the browser blocks it);
 * its preflight is answered 403 so the failure is visible in devtools.
 */
export function applyCors(req: HttpRequest, res: HttpResponse, policy: CorsPolicy): boolean {
  const origin = header(req, 'origin');
  res.set('Vary', 'Origin');
  const allowed = origin !== undefined && (policy.allowedOrigins.includes(origin) || policy.allowedOrigins.includes('*'));
  if (allowed) {
    res.set('Access-Control-Allow-Origin', origin);
    if (policy.exposedHeaders.length) res.set('Access-Control-Expose-Headers', policy.exposedHeaders.join(', '));
  }
  if (req.method !== 'OPTIONS') return false;
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
