// Maps method + path to a handler. JSON API paths are served with and without `/storage/v1`
// (the client omits it when STORAGE_EMULATOR_HOST is set); uploads live under
// `/upload/storage/v1`; every other path is the path-style XML API `/{bucket}/{object}`.
// Consequence: buckets named `b`, `storage`, `upload` or `download` are not reachable by XML.
import * as buckets from './buckets-api.js';
import type { RequestContext } from './context.js';
import { badRequest, GcsError } from './errors.js';
import type { ErrorStyle } from './http-util.js';
import * as objects from './objects-api.js';
import { continueResumable, startResumable } from './resumable.js';
import { checkUploadType, mediaUpload, multipartUpload } from './uploads.js';
import { handleXml } from './xml-api.js';

export interface Route {
  style: ErrorStyle;
  run: (ctx: RequestContext) => Promise<void>;
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw badRequest(`Malformed percent-encoding in path segment '${segment}'.`);
  }
}

const notAllowed = (method: string): Route => ({
  style: 'json',
  run: async () => {
    throw new GcsError(405, 'methodNotAllowed', `Method ${method} is not allowed here.`);
  },
});

export function resolveRoute(method: string, rawPath: string, rawSearch: string): Route {
  const segs = rawPath.split('/').slice(1);
  if (segs[0] === 'upload' && segs[1] === 'storage' && segs[2] === 'v1') return uploadRoute(method, segs.slice(3));
  if (segs[0] === 'download' && segs[1] === 'storage' && segs[2] === 'v1') return jsonRoute(method, segs.slice(3));
  if (segs[0] === 'storage' && segs[1] === 'v1') return jsonRoute(method, segs.slice(2));
  if (segs[0] === 'b') return jsonRoute(method, segs);
  const bucket = decode(segs[0] ?? '');
  const object = decode(segs.slice(1).join('/'));
  return { style: 'xml', run: (ctx) => handleXml(ctx, bucket, object, rawSearch) };
}

function uploadRoute(method: string, segs: string[]): Route {
  if (segs.length !== 3 || segs[0] !== 'b' || segs[2] !== 'o') return notFoundRoute();
  const bucket = decode(segs[1]!);
  return {
    style: 'json',
    run: async (ctx) => {
      const uploadId = ctx.query.get('upload_id');
      if (uploadId !== null) {
        if (method === 'PUT' || method === 'POST') return continueResumable(ctx);
        if (method === 'DELETE') {
          await ctx.state.sessions.cancel(uploadId);
          // Cloud Storage answers a cancelled session with 499 Client Closed Request.
          ctx.res.writeHead(499, { 'Content-Length': '0' });
          ctx.res.end();
          return;
        }
        throw new GcsError(405, 'methodNotAllowed', `Method ${method} is not allowed on an upload session.`);
      }
      if (method !== 'POST') throw new GcsError(405, 'methodNotAllowed', `Method ${method} is not allowed on the upload endpoint.`);
      const type = checkUploadType(ctx.query.get('uploadType'));
      if (type === 'media') return mediaUpload(ctx, bucket);
      if (type === 'multipart') return multipartUpload(ctx, bucket);
      return startResumable(ctx, bucket);
    },
  };
}

function notFoundRoute(): Route {
  return {
    style: 'json',
    run: async () => {
      throw new GcsError(404, 'notFound', 'Not Found');
    },
  };
}

function jsonRoute(method: string, segs: string[]): Route {
  if (segs[0] !== 'b') return notFoundRoute();
  const json = (run: Route['run']): Route => ({ style: 'json', run });
  if (segs.length === 1 || (segs.length === 2 && segs[1] === '')) {
    if (method === 'GET') return json(buckets.listBuckets);
    if (method === 'POST') return json(buckets.insertBucket);
    return notAllowed(method);
  }
  const bucket = decode(segs[1]!);
  if (segs.length === 2) {
    if (method === 'GET') return json((ctx) => buckets.getBucket(ctx, bucket));
    if (method === 'PATCH' || method === 'PUT') return json((ctx) => buckets.patchBucket(ctx, bucket));
    if (method === 'DELETE') return json((ctx) => buckets.deleteBucket(ctx, bucket));
    return notAllowed(method);
  }
  if (segs[2] === 'notificationConfigs') {
    if (segs.length === 3) {
      if (method === 'GET') return json((ctx) => buckets.listNotifications(ctx, bucket));
      if (method === 'POST') return json((ctx) => buckets.insertNotification(ctx, bucket));
      return notAllowed(method);
    }
    const id = decode(segs.slice(3).join('/'));
    if (method === 'GET') return json((ctx) => buckets.getNotification(ctx, bucket, id));
    if (method === 'DELETE') return json((ctx) => buckets.deleteNotification(ctx, bucket, id));
    return notAllowed(method);
  }
  if (segs[2] !== 'o') return notFoundRoute();
  if (segs.length === 3) {
    if (method === 'GET') return json((ctx) => objects.listObjects(ctx, bucket));
    return notAllowed(method);
  }
  return objectRoute(method, bucket, segs.slice(3));
}

function objectRoute(method: string, bucket: string, rest: string[]): Route {
  const json = (run: Route['run']): Route => ({ style: 'json', run });
  // `{src}/copyTo/b/{dstBucket}/o/{dst}` and `{src}/rewriteTo/...`
  const op = rest.findIndex((s, i) => (s === 'copyTo' || s === 'rewriteTo') && rest[i + 1] === 'b' && rest[i + 3] === 'o');
  if (op > 0 && method === 'POST') {
    const kind = rest[op] === 'copyTo' ? 'copy' : 'rewrite';
    const src = { bucket, name: decode(rest.slice(0, op).join('/')) };
    const dst = { bucket: decode(rest[op + 2]!), name: decode(rest.slice(op + 4).join('/')) };
    return json((ctx) => objects.copyObject(ctx, src, dst, kind));
  }
  const name = decode(rest.join('/'));
  if (method === 'GET' || method === 'HEAD') return json((ctx) => objects.getObject(ctx, bucket, name));
  if (method === 'PATCH') return json((ctx) => objects.patchObject(ctx, bucket, name, false));
  if (method === 'PUT') return json((ctx) => objects.patchObject(ctx, bucket, name, true));
  if (method === 'DELETE') return json((ctx) => objects.deleteObject(ctx, bucket, name));
  return notAllowed(method);
}
