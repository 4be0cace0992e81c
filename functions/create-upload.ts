import { UploadLimits, UploadRequest, UploadTicket } from '../schemas/upload.js';
import { ACCEPTED_CONTENT_TYPES, OUTPUT_KINDS, SCHEMA_VERSION } from '../schemas/common.js';
import { parseOrThrow, SchemaError } from '../schemas/parse.js';
import { newJobId } from '../shared/ids.js';
import { uploadObjectName } from '../shared/paths.js';
import type { Deps } from './deps.js';
import { applyCors, clientKey, header, isJsonRequest, requestOrigin, sendError, sendJson, type CorsPolicy, type HttpRequest, type HttpResponse } from './http.js';
import { TokenBucketLimiter, type RateLimitSettings } from './rate-limit.js';
import { CLIENT_REF_META, OUTPUTS_META } from './upload-metadata.js';
import { EVENTS } from './log-events.js';

export interface CreateUploadSettings {
  uploadsBucket: string;
  maxUploadBytes: number;
  signedUrlTtlSeconds: number;
  allowedOrigins: readonly string[];
  rateLimit: RateLimitSettings;
  /** Prefix of the status URL in the ticket; unset: the origin the request came in on. */
  publicBaseUrl?: string | undefined;
  /** X-Forwarded-For entries appended by proxies we trust (see clientKey); 1 by default. */
  trustedProxyHops?: number;
}

export type HttpHandler = (req: HttpRequest, res: HttpResponse) => Promise<void>;

/**
 * `POST /uploads`: validate the request, mint a job id and hand back a V4 signed PUT URL
 * bound to the declared type and size. The browser then uploads straight to Storage.
 */
export function createUploadHandler(
  deps: Pick<Deps, 'objects' | 'clock' | 'logger'>,
  settings: CreateUploadSettings,
  mintJobId: () => string = newJobId,
): HttpHandler {
  const cors: CorsPolicy = {
    allowedOrigins: settings.allowedOrigins,
    methods: ['GET', 'POST', 'OPTIONS'],
    requestHeaders: ['Content-Type'],
    exposedHeaders: ['Retry-After'],
    // A ticket is a signed URL and a job slot: none for a page the shop did not allow.
    refuseOtherOrigins: true,
  };
  // `GET /uploads`: what a POST accepts, so a browser refuses a wrong file before asking for a ticket.
  const limits = parseOrThrow(UploadLimits, 'UploadLimits', { schemaVersion: SCHEMA_VERSION, maxUploadBytes: settings.maxUploadBytes, contentTypes: [...ACCEPTED_CONTENT_TYPES], outputs: [...OUTPUT_KINDS] });
  const limiter = new TokenBucketLimiter(settings.rateLimit, () => deps.clock.now().getTime());
  const log = deps.logger.child({ handler: 'createUpload' });

  return async (req, res) => {
    if (applyCors(req, res, cors)) return;
    if (req.method === 'GET' || req.method === 'HEAD') {
      res.set('Cache-Control', 'public, max-age=300');
      return sendJson(res, 200, limits);
    }
    if (req.method !== 'POST') {
      res.set('Allow', 'GET, POST, OPTIONS');
      return sendError(res, 405, 'method_not_allowed', `use POST to request an upload URL, not ${req.method}`);
    }
    // Only JSON: a text/plain POST is a "simple" request that browsers send cross-origin
    // without a preflight, so accepting it would let any page mint tickets.
    if (!isJsonRequest(req)) {
      return sendError(res, 415, 'unsupported_media_type', `send the request as application/json, not ${JSON.stringify(header(req, 'content-type') ?? '(none)')}`);
    }
    const client = clientKey(req, settings.trustedProxyHops);
    const decision = limiter.take(client);
    if (!decision.allowed) {
      log.warn({ event: EVENTS.upload.rate_limited, client }, 'rate limited');
      res.set('Retry-After', String(decision.retryAfterSeconds));
      return sendError(res, 429, 'rate_limited', `too many upload requests; retry in ${decision.retryAfterSeconds} s`);
    }

    let request: UploadRequest;
    try {
      request = parseOrThrow(UploadRequest, 'UploadRequest', jsonBody(req.body));
    } catch (err) {
      if (err instanceof SchemaError) {
        const fields = [...new Set(err.issues.map((i) => (i.path.length ? i.path.join('.') : '(root)')))];
        return sendError(res, 400, 'bad_request', err.message, { fields });
      }
      if (err instanceof SyntaxError) return sendError(res, 400, 'bad_request', `the body is not valid JSON: ${err.message}`, { fields: ['(root)'] });
      throw err;
    }
    if (request.contentLength > settings.maxUploadBytes) {
      return sendError(res, 400, 'too_large', `contentLength ${request.contentLength} exceeds the limit of ${settings.maxUploadBytes} bytes`, { fields: ['contentLength'] });
    }

    const base = settings.publicBaseUrl?.replace(/\/+$/, '') ?? requestOrigin(req);
    if (base === undefined) return sendError(res, 400, 'bad_request', 'the Host header is missing or not a host name');
    const jobId = mintJobId();
    const expiresAt = new Date(deps.clock.now().getTime() + settings.signedUrlTtlSeconds * 1000);
    // Every header here is signed: the browser must send each one verbatim, and Storage
    // refuses a PUT whose type or size is not what was declared.
    const extensionHeaders: Record<string, string> = {
      'x-goog-content-length-range': `0,${request.contentLength}`,
      [`x-goog-meta-${OUTPUTS_META}`]: request.outputs.join(','),
    };
    if (request.clientRef !== undefined) extensionHeaders[`x-goog-meta-${CLIENT_REF_META}`] = encodeURIComponent(request.clientRef);
    let url: string;
    try {
      url = await deps.objects.signedUrl({
        bucket: settings.uploadsBucket,
        name: uploadObjectName(jobId),
        method: 'PUT',
        expiresAt,
        contentType: request.contentType,
        extensionHeaders,
      });
    } catch (err) {
      log.error({ event: EVENTS.upload.sign_failed, err }, 'could not sign the upload URL');
      res.set('Retry-After', '5');
      return sendError(res, 503, 'unavailable', 'could not create an upload URL right now; try again shortly');
    }

    const ticket = parseOrThrow(UploadTicket, 'UploadTicket', {
      schemaVersion: SCHEMA_VERSION,
      jobId,
      upload: { method: 'PUT', url, headers: { 'Content-Type': request.contentType, ...extensionHeaders }, expiresAt: expiresAt.toISOString() },
      statusUrl: `${base}/jobs/${jobId}`,
    });
    log.info({ event: EVENTS.upload.ticket_issued, jobId, contentType: request.contentType, contentLength: request.contentLength }, 'upload URL issued');
    res.set('Cache-Control', 'no-store');
    sendJson(res, 201, ticket);
  };
}

/** functions-framework parses JSON bodies itself; a raw one (tests, other hosts) is parsed here. */
function jsonBody(body: unknown): unknown {
  if (Buffer.isBuffer(body)) return body.length ? JSON.parse(body.toString('utf8')) : undefined;
  if (typeof body === 'string') return body.length ? JSON.parse(body) : undefined;
  return body;
}
