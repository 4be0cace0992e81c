// Per-bucket CORS as Cloud Storage applies it on the XML API: a preflight is answered from
// the first rule matching the origin and requested method; actual responses get
// Access-Control-Allow-Origin only for a matching rule. No match means no CORS headers.
import type { CorsRule } from './types.js';

function originMatches(rule: CorsRule, origin: string): boolean {
  return rule.origin.some((o) => o === '*' || o === origin);
}

function methodMatches(rule: CorsRule, method: string): boolean {
  return rule.method.some((m) => m === '*' || m.toUpperCase() === method.toUpperCase());
}

export function findRule(rules: CorsRule[], origin: string, method: string): CorsRule | undefined {
  return rules.find((r) => originMatches(r, origin) && methodMatches(r, method));
}

/** Headers for a preflight, or undefined when the origin/method is not allowed. */
export function preflightHeaders(
  rules: CorsRule[],
  origin: string | undefined,
  requestMethod: string | undefined,
  requestHeaders: string | undefined,
): Record<string, string> | undefined {
  if (!origin || !requestMethod) return undefined;
  const rule = findRule(rules, origin, requestMethod);
  if (!rule) return undefined;
  const headers: Record<string, string> = {
    'Access-Control-Allow-Origin': rule.origin.includes('*') ? '*' : origin,
    'Access-Control-Allow-Methods': rule.method.join(', '),
    Vary: 'Origin',
  };
  // Cloud Storage lets any request header through a matched preflight; echo what was asked.
  if (requestHeaders) headers['Access-Control-Allow-Headers'] = requestHeaders;
  if (rule.maxAgeSeconds !== undefined) headers['Access-Control-Max-Age'] = String(rule.maxAgeSeconds);
  return headers;
}

/**
 * Headers for an actual (non-preflight) response. On a bucket with CORS rules every answer
 * says `Vary: Origin`, with or without an Origin and whether or not a rule matched: the
 * answer's CORS headers depend on the Origin, so a browser must not reuse a copy cached for a
 * request without one (an <img> or a navigation) to answer a later CORS read of the same
 * signed URL (a canvas draw, fetch()), which would then be refused. The Fetch standard asks
 * this of servers ("CORS protocol and HTTP caches"), and Cloud Storage answers so on buckets
 * with a CORS configuration. A bucket without rules never sends CORS headers: nothing varies.
 */
export function responseCorsHeaders(rules: CorsRule[], origin: string | undefined, method: string): Record<string, string> {
  if (!rules.length) return {};
  const vary = { Vary: 'Origin' };
  if (!origin) return vary;
  const rule = findRule(rules, origin, method);
  if (!rule) return vary;
  const headers: Record<string, string> = {
    'Access-Control-Allow-Origin': rule.origin.includes('*') ? '*' : origin,
    ...vary,
  };
  if (rule.responseHeader?.length) headers['Access-Control-Expose-Headers'] = rule.responseHeader.join(', ');
  return headers;
}

/** Validates a CORS configuration from JSON (bucket insert/patch, programmatic options). */
export function readCors(value: unknown): CorsRule[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new TypeError('Expected an array for cors');
  return value.map((raw, i) => {
    const r = raw as Partial<Record<keyof CorsRule, unknown>>;
    const strings = (v: unknown, field: string): string[] => {
      if (v === undefined) return [];
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new TypeError(`Expected string[] for cors[${i}].${field}`);
      return v as string[];
    };
    const maxAge = r.maxAgeSeconds;
    if (maxAge !== undefined && (typeof maxAge !== 'number' || !Number.isInteger(maxAge) || maxAge < 0)) {
      throw new TypeError(`Expected non-negative integer for cors[${i}].maxAgeSeconds but received ${String(maxAge)}`);
    }
    return {
      origin: strings(r.origin, 'origin'),
      method: strings(r.method, 'method'),
      responseHeader: strings(r.responseHeader, 'responseHeader'),
      ...(maxAge !== undefined ? { maxAgeSeconds: maxAge } : {}),
    };
  });
}
