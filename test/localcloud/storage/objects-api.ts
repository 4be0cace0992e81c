// JSON API object operations other than uploads: get (metadata or media), patch/update,
// delete, list, copy and rewrite.
import { rm } from 'node:fs/promises';
import { applyPatch, readAttrs } from './attrs.js';
import type { RequestContext } from './context.js';
import { badRequest } from './errors.js';
import { sendMedia } from './downloads.js';
import { readJsonObject, sendJson } from './http-util.js';
import { assertObjectName } from './names.js';
import { checkPreconditions, parsePreconditions } from './preconditions.js';
import { objectResource } from './resource.js';
import type { ObjectMeta } from './types.js';

// Cloud Storage's default and maximum page size for objects.list.
const MAX_LIST_RESULTS = 1000;

export async function getObject(ctx: RequestContext, bucket: string, name: string): Promise<void> {
  const pre = parsePreconditions(ctx.query);
  const generation = ctx.query.get('generation');
  if (ctx.query.get('alt') === 'media') {
    const meta = await ctx.state.store.getObject(bucket, name, generation);
    checkPreconditions(meta, pre);
    await sendMedia(ctx.req, ctx.res, ctx.state.store, { bucket, name, generation: generation ?? meta.generation });
    return;
  }
  const meta = await ctx.state.store.getObject(bucket, name, generation);
  checkPreconditions(meta, pre);
  sendJson(ctx.res, 200, objectResource(meta, ctx.baseUrl));
}

/** PATCH merges; PUT (update) replaces the writable fields. Either bumps the metageneration. */
export async function patchObject(ctx: RequestContext, bucket: string, name: string, replace: boolean): Promise<void> {
  const pre = parsePreconditions(ctx.query);
  const body = await readJsonObject(ctx.req);
  const meta = await ctx.state.store.updateObject(bucket, name, pre, (live) => {
    if (!replace) return applyPatch(live, body);
    const attrs = readAttrs(body);
    return { contentType: undefined, contentEncoding: undefined, contentDisposition: undefined, contentLanguage: undefined, cacheControl: undefined, customTime: undefined, metadata: {}, ...attrs };
  });
  sendJson(ctx.res, 200, objectResource(meta, ctx.baseUrl));
}

export async function deleteObject(ctx: RequestContext, bucket: string, name: string): Promise<void> {
  await ctx.state.store.deleteObject(bucket, name, parsePreconditions(ctx.query), ctx.query.get('generation'));
  ctx.res.writeHead(204);
  ctx.res.end();
}

function parseMaxResults(raw: string | null): number {
  if (raw === null) return MAX_LIST_RESULTS;
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw badRequest(`Invalid value for maxResults: '${raw}'`);
  return Math.min(Number(raw), MAX_LIST_RESULTS);
}

export async function listObjects(ctx: RequestContext, bucket: string): Promise<void> {
  const q = ctx.query;
  const token = q.get('pageToken');
  const result = await ctx.state.store.listObjects(bucket, {
    prefix: q.get('prefix') ?? undefined,
    delimiter: q.get('delimiter') || undefined,
    pageToken: token ? decodePageToken(token) : undefined,
    maxResults: parseMaxResults(q.get('maxResults')),
    startOffset: q.get('startOffset') ?? undefined,
    endOffset: q.get('endOffset') ?? undefined,
  });
  sendJson(ctx.res, 200, {
    kind: 'storage#objects',
    ...(result.prefixes.length ? { prefixes: result.prefixes } : {}),
    ...(result.items.length ? { items: result.items.map((m) => objectResource(m, ctx.baseUrl)) } : {}),
    ...(result.nextPageToken !== undefined ? { nextPageToken: Buffer.from(result.nextPageToken).toString('base64url') } : {}),
  });
}

function decodePageToken(token: string): string {
  if (!/^[A-Za-z0-9_-]+$/.test(token)) throw badRequest(`Invalid pageToken '${token}'.`);
  return Buffer.from(token, 'base64url').toString('utf8');
}

/**
 * copyTo and rewriteTo: the source's bytes and hashes go to the destination as a new
 * generation; the body may override metadata. Destination preconditions use the usual names,
 * source preconditions the `ifSource...` names.
 */
export async function copyObject(
  ctx: RequestContext,
  src: { bucket: string; name: string },
  dst: { bucket: string; name: string },
  kind: 'copy' | 'rewrite',
): Promise<void> {
  assertObjectName(dst.name);
  const q = ctx.query;
  const pre = parsePreconditions(q);
  const sourcePre = parsePreconditions(q, 'ifSource');
  const overrides = await readJsonObject(ctx.req);
  const source = await ctx.state.store.getObject(src.bucket, src.name, q.get('sourceGeneration'));
  checkPreconditions(source, sourcePre);
  await ctx.state.store.getBucket(dst.bucket);
  const attrs = Object.keys(readAttrs(overrides)).length > 0 ? readAttrs(overrides) : inheritAttrs(source);
  const temp = await ctx.state.store.snapshot(source);
  let meta: ObjectMeta;
  try {
    const digest = { size: Number(source.size), crc32c: source.crc32c, md5Hash: source.md5Hash };
    meta = await ctx.state.store.commit(dst.bucket, dst.name, temp, digest, attrs, pre);
  } finally {
    await rm(temp, { force: true });
  }
  const resource = objectResource(meta, ctx.baseUrl);
  if (kind === 'copy') {
    sendJson(ctx.res, 200, resource);
    return;
  }
  sendJson(ctx.res, 200, { kind: 'storage#rewriteResponse', totalBytesRewritten: meta.size, objectSize: meta.size, done: true, resource });
}

function inheritAttrs(source: ObjectMeta): ReturnType<typeof readAttrs> {
  const { contentType, contentEncoding, contentDisposition, contentLanguage, cacheControl, customTime, metadata } = source;
  return readAttrs({ contentType, contentEncoding, contentDisposition, contentLanguage, cacheControl, customTime, metadata });
}
