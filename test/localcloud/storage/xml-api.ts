// Path-style XML API (`/{bucket}/{object}`), the surface V4 signed URLs use from a browser:
// OPTIONS (CORS preflight), GET/HEAD (download) and PUT (upload). Every non-preflight request
// must carry a valid signature; uploads honour a signed `x-goog-content-length-range` while
// streaming, so an oversized body is rolled back even without a Content-Length.
import type { IncomingHttpHeaders } from 'node:http';
import { BodySink } from './body-sink.js';
import type { RequestContext } from './context.js';
import { preflightHeaders, responseCorsHeaders } from './cors.js';
import { badRequest, forbidden, GcsError } from './errors.js';
import { sendMedia } from './downloads.js';
import { assertObjectName } from './names.js';
import { parsePreconditions } from './preconditions.js';
import { isSignedQuery, parseRawQuery, verifySignedRequest } from './signed-url.js';
import type { ObjectAttrs } from './types.js';
import { precheck, pump, writeObject } from './uploads.js';

export async function handleXml(ctx: RequestContext, bucket: string, object: string, rawSearch: string): Promise<void> {
  const { req, res, state } = ctx;
  const method = req.method ?? 'GET';
  const bucketMeta = await state.store.getBucket(bucket);
  const origin = req.headers.origin;

  if (method === 'OPTIONS') {
    const headers = preflightHeaders(bucketMeta.cors, origin, header(req.headers, 'access-control-request-method'), header(req.headers, 'access-control-request-headers'));
    if (!headers) throw forbidden('CORS request is not allowed for this origin or method.', 'AccessDenied');
    res.writeHead(200, { ...headers, 'Content-Length': '0' });
    res.end();
    return;
  }

  // Set before anything can fail, so a browser can read our error replies too.
  for (const [k, v] of Object.entries(responseCorsHeaders(bucketMeta.cors, origin, method))) res.setHeader(k, v);

  const query = parseRawQuery(rawSearch);
  if (!isSignedQuery(query)) throw forbidden('Anonymous caller does not have storage.objects access; use a signed URL.', 'AccessDenied');
  const verified = verifySignedRequest({ method, bucket, object, query, headers: req.headers }, state.trustedKeys);
  if (!object) throw badRequest('Bucket-level XML requests are not supported by this emulator.', 'notImplemented');
  assertObjectName(object);

  if (method === 'GET' || method === 'HEAD') {
    await sendMedia(req, res, state.store, { bucket, name: object, generation: null });
    return;
  }
  if (method !== 'PUT') throw new GcsError(405, 'methodNotAllowed', `Method ${method} is not supported on objects.`, 'MethodNotAllowed');

  const limit = verified.sizeLimit;
  const declared = req.headers['content-length'];
  if (limit && declared !== undefined) {
    const n = Number(declared);
    if (n > limit.max) throw new GcsError(400, 'invalid', `Content-Length ${n} exceeds the signed maximum of ${limit.max}.`, 'EntityTooLarge');
    if (n < limit.min) throw new GcsError(400, 'invalid', `Content-Length ${n} is below the signed minimum of ${limit.min}.`, 'EntityTooSmall');
  }
  const pre = parsePreconditions(new URLSearchParams(xmlPreconditions(req.headers)));
  await precheck(ctx, bucket, object, pre);
  const attrs: ObjectAttrs = { contentType: header(req.headers, 'content-type') };
  const metadata = userMetadata(req.headers);
  if (Object.keys(metadata).length) attrs.metadata = metadata;
  const meta = await writeObject(
    ctx,
    async (sink) => {
      await pump(req, sink);
      return { bucket, name: object, attrs, pre };
    },
    new BodySink(state.store.tempPath(), limit),
  );
  res.writeHead(200, {
    ETag: `"${Buffer.from(meta.md5Hash, 'base64').toString('hex')}"`,
    'x-goog-generation': meta.generation,
    'x-goog-metageneration': meta.metageneration,
    'x-goog-hash': `crc32c=${meta.crc32c},md5=${meta.md5Hash}`,
    'x-goog-stored-content-length': meta.size,
    'Content-Length': '0',
  });
  res.end();
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

/** XML API preconditions travel as headers; map them to the JSON API names. */
function xmlPreconditions(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  const gen = header(headers, 'x-goog-if-generation-match');
  const metagen = header(headers, 'x-goog-if-metageneration-match');
  if (gen !== undefined) out['ifGenerationMatch'] = gen;
  if (metagen !== undefined) out['ifMetagenerationMatch'] = metagen;
  return out;
}

function userMetadata(headers: IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (k.startsWith('x-goog-meta-') && v !== undefined) out[k.slice('x-goog-meta-'.length)] = Array.isArray(v) ? v.join(',') : v;
  }
  return out;
}
