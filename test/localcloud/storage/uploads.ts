// Simple uploads: `uploadType=media` (raw body) and `uploadType=multipart` (metadata + media).
// Both stream the body through a BodySink and commit it atomically.
import type { IncomingMessage } from 'node:http';
import { readAttrs } from './attrs.js';
import { BodySink } from './body-sink.js';
import type { RequestContext } from './context.js';
import { badRequest } from './errors.js';
import { sendJson } from './http-util.js';
import { boundaryOf, readMultipart } from './multipart.js';
import { assertObjectName } from './names.js';
import { checkPreconditions, parsePreconditions } from './preconditions.js';
import { objectResource } from './resource.js';
import type { ObjectAttrs, ObjectMeta, Preconditions } from './types.js';

export interface WriteTarget {
  bucket: string;
  name: string;
  attrs: ObjectAttrs;
  pre: Preconditions;
}

/**
 * Streams `body` into a temp file and commits it as the new generation of the target.
 * `fill` writes the body into the sink and names the target; it runs before the commit because
 * multipart learns the object name from the body itself.
 */
export async function writeObject(
  ctx: RequestContext,
  fill: (sink: BodySink) => Promise<WriteTarget>,
  sink: BodySink = new BodySink(ctx.state.store.tempPath()),
): Promise<ObjectMeta> {
  try {
    const target = await fill(sink);
    const digest = await sink.finish();
    return await ctx.state.store.commit(target.bucket, target.name, sink.path, digest, target.attrs, target.pre);
  } finally {
    // After a successful commit the temp file has been renamed away and this is a no-op.
    await sink.abort();
  }
}

export async function pump(body: AsyncIterable<Buffer>, sink: BodySink): Promise<void> {
  for await (const chunk of body) await sink.write(chunk);
}

/** Fails fast (before reading a large body) when the bucket is unknown or a precondition already fails. */
export async function precheck(ctx: RequestContext, bucket: string, name: string, pre: Preconditions): Promise<void> {
  await ctx.state.store.getBucket(bucket);
  checkPreconditions(await ctx.state.store.findObject(bucket, name), pre);
}

export async function mediaUpload(ctx: RequestContext, bucket: string): Promise<void> {
  const { req, query } = ctx;
  const name = query.get('name') ?? '';
  assertObjectName(name);
  const pre = parsePreconditions(query);
  await precheck(ctx, bucket, name, pre);
  const attrs: ObjectAttrs = { contentType: req.headers['content-type'] };
  const contentEncoding = query.get('contentEncoding');
  if (contentEncoding) attrs.contentEncoding = contentEncoding;
  const meta = await writeObject(ctx, async (sink) => {
    await pump(req, sink);
    return { bucket, name, attrs, pre };
  });
  sendJson(ctx.res, 200, objectResource(meta, ctx.baseUrl));
}

export async function multipartUpload(ctx: RequestContext, bucket: string): Promise<void> {
  const { req, query } = ctx;
  const boundary = boundaryOf(req.headers['content-type']);
  const pre = parsePreconditions(query);
  await ctx.state.store.getBucket(bucket);
  const meta = await writeObject(ctx, async (sink) => {
    const parsed = await readMultipart(req as IncomingMessage & AsyncIterable<Buffer>, boundary, (chunk) => sink.write(chunk));
    const name = query.get('name') ?? (typeof parsed.metadata['name'] === 'string' ? parsed.metadata['name'] : '');
    assertObjectName(name);
    const attrs = readAttrs(parsed.metadata);
    attrs.contentType ??= parsed.mediaContentType;
    return { bucket, name, attrs, pre };
  });
  sendJson(ctx.res, 200, objectResource(meta, ctx.baseUrl));
}

/** The `uploadType` values Cloud Storage accepts on the upload endpoint. */
export function checkUploadType(value: string | null): 'media' | 'multipart' | 'resumable' {
  if (value === 'media' || value === 'multipart' || value === 'resumable') return value;
  throw badRequest(`Invalid uploadType: '${value ?? ''}'. Expected media, multipart or resumable.`, 'invalidParameter');
}
