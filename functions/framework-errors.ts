/**
 * JSON answers for the errors functions-framework raises before our handler runs.
 *
 * The framework parses every body itself (server.js: body-parser json, text, urlencoded, raw)
 * and offers no hook for their errors: malformed JSON, or the literal `null` (its JSON parser
 * is strict), goes to express's final handler, an HTML page with the stack trace unless
 * NODE_ENV=production. No handler of ours ever sees those requests, so the final handler is
 * the one place left: every express app created after `installJsonErrors` (the framework
 * creates its app after loading our module) ends unhandled errors in our JSON error shape,
 * with CORS headers for allowed origins and never a stack.
 */
import { createRequire } from 'node:module';
import type { Logger } from '../shared/logger.js';
import { sendError } from './http.js';
import { EVENTS } from './log-events.js';

interface ExpressLikeRequest {
  method: string;
  headers: Record<string, string | string[] | undefined>;
}
interface ExpressLikeResponse {
  headersSent: boolean;
  status(code: number): ExpressLikeResponse;
  set(field: string, value: string): ExpressLikeResponse;
  send(body?: unknown): unknown;
  end(): unknown;
}
type Handle = (this: unknown, req: ExpressLikeRequest, res: ExpressLikeResponse, callback?: (err?: unknown) => void) => unknown;

export interface FrameworkError {
  status: number;
  code: string;
  message: string;
}

/**
 * What to answer for an error the framework's middleware passed on (or none: no route).
 * Codes of body-parser (`err.type`) get our codes; any other 4xx keeps its status with a
 * generic message; anything else is a 500 whose text says nothing about the inside.
 */
export function frameworkError(err: unknown): FrameworkError {
  if (err === undefined) return { status: 404, code: 'not_found', message: 'nothing here' };
  const e = (typeof err === 'object' && err !== null ? err : {}) as { type?: unknown; status?: unknown; statusCode?: unknown };
  const status = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : 500;
  switch (e.type) {
    case 'entity.parse.failed':
      return { status: 400, code: 'bad_request', message: 'the body is not valid JSON: send a JSON object' };
    case 'entity.too.large':
      return { status: 413, code: 'too_large', message: 'the request body is too large' };
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return { status: 415, code: 'unsupported_media_type', message: 'the body encoding is not supported: send UTF-8 JSON' };
    default:
      if (status >= 400 && status < 500) return { status, code: 'bad_request', message: 'the request cannot be processed' };
      return { status: 500, code: 'internal', message: 'something went wrong on our side; try again shortly' };
  }
}

const INSTALLED = Symbol.for('petcutout.jsonErrors');

/**
 * Give the express that functions-framework loads (resolved from the framework's own
 * location, since our bundle carries its own copy) a JSON final handler.
 * @example installJsonErrors(() => config.ALLOWED_ORIGINS, log)
 */
export function installJsonErrors(allowedOrigins: () => readonly string[], log: Logger): void {
  const fromHere = createRequire(import.meta.url);
  const express = createRequire(fromHere.resolve('@google-cloud/functions-framework'))('express') as { application: Record<string | symbol, unknown> };
  const app = express.application;
  if (app[INSTALLED]) return;
  const original = app['handle'] as Handle;
  const handle: Handle = function (req, res, callback) {
    return original.call(this, req, res, callback ?? jsonFinalHandler(req, res, allowedOrigins, log));
  };
  app['handle'] = handle;
  app[INSTALLED] = true;
}

export function jsonFinalHandler(req: ExpressLikeRequest, res: ExpressLikeResponse, allowedOrigins: () => readonly string[], log: Logger): (err?: unknown) => void {
  return (err) => {
    const answer = frameworkError(err);
    if (answer.status >= 500) log.error({ event: EVENTS.http.unhandled_error, err }, 'unhandled error before the handler');
    else log.info({ event: EVENTS.http.refused_by_framework, status: answer.status, code: answer.code }, answer.message);
    if (res.headersSent) return;
    const origin = typeof req.headers['origin'] === 'string' ? req.headers['origin'] : undefined;
    res.set('Vary', 'Origin');
    let origins: readonly string[] = [];
    try {
      origins = allowedOrigins();
    } catch {
      // A bad configuration is reported by the handlers; here it only means no CORS headers.
    }
    if (origin !== undefined && (origins.includes(origin) || origins.includes('*'))) res.set('Access-Control-Allow-Origin', origin);
    sendError(res, answer.status, answer.code, answer.message);
  };
}
