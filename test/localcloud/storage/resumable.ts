// Resumable uploads: POST starts a session (200 + Location), PUTs append chunks
// (`Content-Range: bytes a-b/total|*`, answered 308 + `Range: bytes=0-N` until complete),
// `bytes */*` asks for the status, and the final chunk commits the object.
import { randomUUID } from 'node:crypto';
import { readAttrs } from './attrs.js';
import { BodySink } from './body-sink.js';
import type { RequestContext } from './context.js';
import { badRequest, GcsError, notFound } from './errors.js';
import { readJsonObject, sendJson } from './http-util.js';
import { assertObjectName } from './names.js';
import { parsePreconditions } from './preconditions.js';
import { objectResource } from './resource.js';
import type { ObjectStore } from './store.js';
import type { ObjectAttrs, ObjectMeta, Preconditions } from './types.js';
import { precheck } from './uploads.js';

interface Session {
  id: string;
  bucket: string;
  name: string;
  attrs: ObjectAttrs;
  pre: Preconditions;
  sink: BodySink;
  /** Set once committed, so a retried final PUT gets the same answer. */
  result?: ObjectMeta;
  /** A PUT is in progress; a second one at the same time is refused. */
  busy: boolean;
}

export class UploadSessions {
  private readonly sessions = new Map<string, Session>();

  constructor(private readonly store: ObjectStore) {}

  create(fields: Omit<Session, 'id' | 'sink' | 'busy'>): Session {
    const session: Session = { ...fields, id: randomUUID(), sink: new BodySink(this.store.tempPath()), busy: false };
    this.sessions.set(session.id, session);
    return session;
  }

  get(id: string | null): Session {
    const session = id ? this.sessions.get(id) : undefined;
    if (!session) throw notFound('No such upload session.', 'NoSuchUpload');
    return session;
  }

  async cancel(id: string): Promise<void> {
    const session = this.get(id);
    this.sessions.delete(id);
    await session.sink.abort();
  }

  async closeAll(): Promise<void> {
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map((s) => s.sink.abort()));
  }
}

export async function startResumable(ctx: RequestContext, bucket: string): Promise<void> {
  const { req, query } = ctx;
  const body = await readJsonObject(req);
  const name = query.get('name') ?? (typeof body['name'] === 'string' ? body['name'] : '');
  assertObjectName(name);
  const pre = parsePreconditions(query);
  await precheck(ctx, bucket, name, pre);
  const attrs = readAttrs(body);
  const uploadType = req.headers['x-upload-content-type'];
  if (typeof uploadType === 'string' && uploadType) attrs.contentType = uploadType;
  const session = ctx.state.sessions.create({ bucket, name, attrs, pre });
  const location = `${ctx.baseUrl}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=resumable&name=${encodeURIComponent(name)}&upload_id=${session.id}`;
  ctx.res.writeHead(200, { Location: location, 'X-GUploader-UploadID': session.id, 'Content-Length': '0' });
  ctx.res.end();
}

interface ContentRange {
  /** undefined for a status check (`bytes *\/total`) */
  start?: number;
  /** inclusive; undefined when open-ended (`a-*`) */
  end?: number;
  /** undefined when unknown (`*`) */
  total?: number;
}

/** Parses `bytes a-b/total`, `bytes a-*\/total`, `bytes *\/total` (total may be `*`). */
export function parseContentRange(header: string | undefined): ContentRange | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes (?:(\d+)-(\d+|\*)|\*)\/(\d+|\*)$/.exec(header.trim());
  if (!m) throw badRequest(`Invalid Content-Range: '${header}'`, 'invalidArgument');
  const num = (v: string | undefined): number | undefined => (v === undefined || v === '*' ? undefined : Number(v));
  return { start: num(m[1]), end: num(m[2]), total: num(m[3]) };
}

function sendIncomplete(ctx: RequestContext, received: number): void {
  const headers: Record<string, string> = { 'Content-Length': '0' };
  if (received > 0) headers['Range'] = `bytes=0-${received - 1}`;
  ctx.res.writeHead(308, headers);
  ctx.res.end();
}

/** Checks the client's `X-Goog-Hash` (sent with the final chunk) against what we received. */
function checkClientHash(header: string | string[] | undefined, digest: { crc32c: string; md5Hash: string }): void {
  if (typeof header !== 'string') return;
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    const algo = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if ((algo === 'crc32c' && value !== digest.crc32c) || (algo === 'md5' && value !== digest.md5Hash)) {
      throw badRequest(`Provided ${algo} hash '${value}' does not match the uploaded data.`, 'invalid');
    }
  }
}

export async function continueResumable(ctx: RequestContext): Promise<void> {
  const { req, state } = ctx;
  const session = state.sessions.get(ctx.query.get('upload_id'));
  if (session.result) {
    sendJson(ctx.res, 200, objectResource(session.result, ctx.baseUrl));
    return;
  }
  if (session.busy) throw new GcsError(503, 'backendError', 'Another request for this upload session is in progress.');
  session.busy = true;
  try {
    const range = parseContentRange(req.headers['content-range']);
    const sink = session.sink;
    if (range?.start !== undefined) {
      if (range.start > sink.size) throw badRequest(`Chunk starts at ${range.start} but only ${sink.size} bytes were received.`);
      // Bytes the client resends (it did not see our last 308) are skipped.
      let skip = sink.size - range.start;
      for await (const chunk of req as AsyncIterable<Buffer>) {
        if (skip >= chunk.length) {
          skip -= chunk.length;
          continue;
        }
        await sink.write(skip > 0 ? chunk.subarray(skip) : chunk);
        skip = 0;
      }
    }
    // Complete when the declared total is reached, or when an open-ended final request
    // (`a-*` with unknown total, or no Content-Range at all) has ended.
    const complete =
      range === undefined ||
      (range.total !== undefined && sink.size >= range.total) ||
      (range.start !== undefined && range.end === undefined && range.total === undefined);
    if (range?.total !== undefined && sink.size > range.total) throw badRequest('Upload is larger than its declared total size.');
    if (!complete) {
      sendIncomplete(ctx, sink.size);
      return;
    }
    await finalize(ctx, session);
  } finally {
    session.busy = false;
  }
}

async function finalize(ctx: RequestContext, session: Session): Promise<void> {
  const { state } = ctx;
  try {
    const digest = await session.sink.finish();
    checkClientHash(ctx.req.headers['x-goog-hash'], digest);
    session.result = await state.store.commit(session.bucket, session.name, session.sink.path, digest, session.attrs, session.pre);
  } catch (err) {
    // A failed commit (412, hash mismatch) ends the session, as Cloud Storage does.
    await state.sessions.cancel(session.id);
    throw err;
  }
  sendJson(ctx.res, 200, objectResource(session.result, ctx.baseUrl));
}
