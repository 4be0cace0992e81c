// Small HTTP helpers shared by the handlers: body reading with a cap, JSON/XML replies,
// draining a body we no longer want, and Range parsing.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest, GcsError, jsonErrorBody, xmlErrorBody } from './errors.js';

// JSON bodies (metadata, bucket configs) are small; anything larger is a client mistake.
const MAX_JSON_BYTES = 2 * 1024 * 1024;

export async function readBody(req: IncomingMessage, limit = MAX_JSON_BYTES): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new GcsError(413, 'uploadTooLarge', `Request body exceeds ${limit} bytes.`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}

/** Parses a JSON object body; an empty body is `{}`; anything else malformed is a 400 parseError. */
export async function readJsonObject(req: IncomingMessage): Promise<Record<string, unknown>> {
  const text = (await readBody(req)).toString('utf8').trim();
  if (text === '') return {};
  return parseJsonObject(text);
}

export function parseJsonObject(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw badRequest(`Parse Error: ${(err as Error).message}`, 'parseError');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badRequest('Expected a JSON object.', 'parseError');
  return value as Record<string, unknown>;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=UTF-8', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export type ErrorStyle = 'json' | 'xml';

export function sendError(res: ServerResponse, err: GcsError, style: ErrorStyle): void {
  const body = style === 'xml' ? xmlErrorBody(err) : jsonErrorBody(err);
  res.writeHead(err.status, {
    'Content-Type': style === 'xml' ? 'application/xml; charset=UTF-8' : 'application/json; charset=UTF-8',
    'Content-Length': Buffer.byteLength(body),
  });
  res.end(body);
}

// Reading on past an error lets the client finish sending and see our reply instead of a reset;
// past this many bytes we stop being polite and close the socket.
const MAX_DRAIN_BYTES = 64 * 1024 * 1024;

/** Discards the rest of a request body so the reply can be read by the client. */
export async function drain(req: IncomingMessage): Promise<void> {
  if (req.readableEnded || req.destroyed) return;
  let seen = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      seen += chunk.length;
      if (seen > MAX_DRAIN_BYTES) {
        req.socket.destroy();
        return;
      }
    }
  } catch {
    // The client went away; nothing left to drain.
  }
}

export interface ByteRange {
  start: number;
  /** inclusive */
  end: number;
}

/**
 * Parses a single `Range: bytes=a-b | a- | -n` header against an object of `size` bytes.
 * Returns undefined for no (or an unsupported multi-) range; throws 416 when unsatisfiable.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return undefined;
  let start: number;
  let end: number;
  if (m[1] === '') {
    const suffix = Number(m[2]);
    start = Math.max(0, size - suffix);
    end = size - 1;
    if (suffix === 0) throw new GcsError(416, 'requestedRangeNotSatisfiable', 'Requested range not satisfiable', 'InvalidRange');
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) {
    throw new GcsError(416, 'requestedRangeNotSatisfiable', 'Requested range not satisfiable', 'InvalidRange');
  }
  return { start, end };
}

/** `http://host:port` as the client addressed us, for Location headers and links. */
export function baseUrlOf(req: IncomingMessage, fallback: string): string {
  const host = req.headers.host;
  return host ? `http://${host}` : fallback;
}
