// V4 signed URL verification (GOOG4-RSA-SHA256). The canonical request is rebuilt the way
// @google-cloud/storage's URLSigner builds it: path `/{bucket}/{encoded object}`, sorted and
// RFC 3986-encoded query without the signature, the signed headers (with `host` being the
// hostname without the port), and `UNSIGNED-PAYLOAD`. The signature is checked against the
// public key trusted for the credential's service-account email.
import { createHash, verify, type KeyObject } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { badRequest, forbidden, GcsError } from './errors.js';
import type { SizeLimit } from './body-sink.js';

// Cloud Storage refuses V4 URLs valid for longer than 7 days.
const MAX_EXPIRES_SECONDS = 7 * 24 * 60 * 60;
// Tolerated clock difference for an X-Goog-Date slightly in the future.
const CLOCK_SKEW_SECONDS = 60;

/** RFC 3986 encoding as the signer does it: everything but `A-Za-z0-9-._~`, '/' kept unless `encodeSlash`. */
export function rfc3986(value: string, encodeSlash: boolean): string {
  const enc = (s: string): string => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  return value.split('/').map(enc).join(encodeSlash ? '%2F' : '/');
}

/** Query pairs decoded without URLSearchParams' `+`-as-space rule (the signer never emits `+`). */
export function parseRawQuery(search: string): Array<[string, string]> {
  const text = search.startsWith('?') ? search.slice(1) : search;
  if (!text) return [];
  return text.split('&').map((pair) => {
    const eq = pair.indexOf('=');
    const k = eq < 0 ? pair : pair.slice(0, eq);
    const v = eq < 0 ? '' : pair.slice(eq + 1);
    try {
      return [decodeURIComponent(k), decodeURIComponent(v)];
    } catch {
      throw badRequest('Malformed query string.');
    }
  });
}

export function isSignedQuery(pairs: Array<[string, string]>): boolean {
  return pairs.some(([k]) => k === 'X-Goog-Signature' || k === 'X-Goog-Algorithm');
}

/** `host` in the canonical headers is the hostname only (the client drops the port). */
function hostnameOf(host: string | undefined): string {
  if (!host) return '';
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1);
  const colon = host.lastIndexOf(':');
  return colon >= 0 ? host.slice(0, colon) : host;
}

function headerValue(headers: IncomingHttpHeaders, name: string): string {
  if (name === 'host') return hostnameOf(headers.host);
  const v = headers[name];
  const joined = Array.isArray(v) ? v.join(',') : (v ?? '');
  return joined.trim().replace(/\s{2,}/g, ' ');
}

/** Parses `X-Goog-Date` (`YYYYMMDDTHHMMSSZ`) to epoch seconds. */
function parseGoogDate(value: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) throw badRequest(`Invalid X-Goog-Date: '${value}'`, 'invalid');
  return Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) / 1000;
}

export interface SignedRequest {
  method: string;
  bucket: string;
  object: string;
  query: Array<[string, string]>;
  headers: IncomingHttpHeaders;
}

export interface VerifiedSignature {
  clientEmail: string;
  /** From a signed `x-goog-content-length-range: min,max`, to enforce while streaming. */
  sizeLimit?: SizeLimit;
}

export function canonicalRequest(req: SignedRequest, signedHeaders: string[]): string {
  const query = req.query
    .filter(([k]) => k !== 'X-Goog-Signature')
    .map(([k, v]) => [rfc3986(k, true), rfc3986(v, true)] as const)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
  const path = `/${req.bucket}` + (req.object ? `/${rfc3986(req.object, false)}` : '');
  // The signer orders header lines with localeCompare (and the SignedHeaders list with sort()).
  const headers = [...signedHeaders]
    .sort((a, b) => a.localeCompare(b))
    .map((h) => `${h}:${headerValue(req.headers, h)}\n`)
    .join('');
  const payload = signedHeaders.includes('x-goog-content-sha256') ? headerValue(req.headers, 'x-goog-content-sha256') : 'UNSIGNED-PAYLOAD';
  return [req.method, path, query, headers, signedHeaders.join(';'), payload].join('\n');
}

export function parseLengthRange(value: string): SizeLimit {
  const m = /^\s*(\d+)\s*,\s*(\d+)\s*$/.exec(value);
  if (!m) throw badRequest(`Invalid x-goog-content-length-range: '${value}'`, 'invalid');
  return { min: Number(m[1]), max: Number(m[2]) };
}

/** Verifies a V4 signed request; throws 400 (malformed/expired) or 403 (bad signature, unknown key). */
export function verifySignedRequest(req: SignedRequest, trustedKeys: Map<string, KeyObject>, nowMs: number = Date.now()): VerifiedSignature {
  const q = new Map(req.query);
  const need = (name: string): string => {
    const v = q.get(name);
    if (v === undefined || v === '') throw badRequest(`Missing required query parameter ${name}.`, 'required');
    return v;
  };
  const algorithm = need('X-Goog-Algorithm');
  if (algorithm !== 'GOOG4-RSA-SHA256') throw badRequest(`Unsupported X-Goog-Algorithm '${algorithm}'.`);
  const credential = need('X-Goog-Credential');
  const googDate = need('X-Goog-Date');
  const expiresText = need('X-Goog-Expires');
  const signedHeaders = need('X-Goog-SignedHeaders').split(';');
  const signatureHex = need('X-Goog-Signature');

  const [clientEmail, datestamp, location, service, requestType] = credential.split('/');
  if (!clientEmail || location !== 'auto' || service !== 'storage' || requestType !== 'goog4_request' || datestamp !== googDate.slice(0, 8)) {
    throw badRequest(`Invalid X-Goog-Credential '${credential}'.`, 'invalid');
  }
  const expires = /^\d+$/.test(expiresText) ? Number(expiresText) : NaN;
  if (!(expires >= 1 && expires <= MAX_EXPIRES_SECONDS)) throw badRequest(`Invalid X-Goog-Expires '${expiresText}'.`, 'invalid');
  const signedAt = parseGoogDate(googDate);
  const now = nowMs / 1000;
  if (now > signedAt + expires) throw new GcsError(400, 'invalid', 'Request has expired.', 'ExpiredToken');
  if (now + CLOCK_SKEW_SECONDS < signedAt) throw badRequest('Request is not yet valid.', 'invalid');
  if (signedHeaders.join(';') !== [...signedHeaders].sort().join(';') || !signedHeaders.includes('host')) {
    throw badRequest('X-Goog-SignedHeaders must be sorted and include host.', 'invalid');
  }

  const key = trustedKeys.get(clientEmail);
  if (!key) throw forbidden(`Unknown service account ${clientEmail}.`, 'AccessDenied');
  const scope = `${datestamp}/auto/storage/goog4_request`;
  const canonical = canonicalRequest(req, signedHeaders);
  const stringToSign = ['GOOG4-RSA-SHA256', googDate, scope, createHash('sha256').update(canonical).digest('hex')].join('\n');
  const signature = /^[0-9a-f]+$/i.test(signatureHex) ? Buffer.from(signatureHex, 'hex') : Buffer.alloc(0);
  if (!verify('RSA-SHA256', Buffer.from(stringToSign), key, signature)) {
    throw forbidden('The request signature we calculated does not match the signature you provided. Check your key and signing method.', 'SignatureDoesNotMatch');
  }
  const range = signedHeaders.includes('x-goog-content-length-range') ? headerValue(req.headers, 'x-goog-content-length-range') : '';
  return range ? { clientEmail, sizeLimit: parseLengthRange(range) } : { clientEmail };
}
