// JSON API bucket operations (get/insert/list/patch/delete) and notification configs.
import type { RequestContext } from './context.js';
import { readCors } from './cors.js';
import { badRequest, notFound } from './errors.js';
import { readJsonObject, sendJson } from './http-util.js';
import { assertBucketName } from './names.js';
import { readNotificationConfig } from './notifications.js';
import { bucketResource, notificationResource } from './resource.js';
import type { BucketMeta, CorsRule } from './types.js';

function corsOrBadRequest(value: unknown): CorsRule[] {
  try {
    return readCors(value);
  } catch (err) {
    throw badRequest((err as Error).message);
  }
}

export function newBucketMeta(name: string, projectId: string, cors: CorsRule[], location = 'US'): BucketMeta {
  assertBucketName(name);
  const now = new Date().toISOString();
  return { name, projectId, timeCreated: now, updated: now, metageneration: '1', location, storageClass: 'STANDARD', cors };
}

export async function insertBucket(ctx: RequestContext): Promise<void> {
  const body = await readJsonObject(ctx.req);
  const name = body['name'];
  if (typeof name !== 'string') throw badRequest('Bucket name is required.', 'required');
  const location = typeof body['location'] === 'string' ? body['location'] : undefined;
  const project = ctx.query.get('project') ?? ctx.state.projectId;
  const meta = await ctx.state.store.createBucket(newBucketMeta(name, project, corsOrBadRequest(body['cors']), location));
  sendJson(ctx.res, 200, bucketResource(meta, ctx.baseUrl));
}

export async function getBucket(ctx: RequestContext, bucket: string): Promise<void> {
  sendJson(ctx.res, 200, bucketResource(await ctx.state.store.getBucket(bucket), ctx.baseUrl));
}

export async function listBuckets(ctx: RequestContext): Promise<void> {
  const prefix = ctx.query.get('prefix') ?? '';
  const buckets = (await ctx.state.store.listBuckets()).filter((b) => b.name.startsWith(prefix));
  sendJson(ctx.res, 200, { kind: 'storage#buckets', items: buckets.map((b) => bucketResource(b, ctx.baseUrl)) });
}

/** Only `cors` is mutable here; it is what local setups change. */
export async function patchBucket(ctx: RequestContext, bucket: string): Promise<void> {
  const body = await readJsonObject(ctx.req);
  const meta = await ctx.state.store.updateBucket(bucket, (live) => ({
    ...live,
    ...('cors' in body ? { cors: corsOrBadRequest(body['cors']) } : {}),
    metageneration: String(Number(live.metageneration) + 1),
    updated: new Date().toISOString(),
  }));
  sendJson(ctx.res, 200, bucketResource(meta, ctx.baseUrl));
}

export async function deleteBucket(ctx: RequestContext, bucket: string): Promise<void> {
  await ctx.state.store.deleteBucket(bucket);
  ctx.res.writeHead(204);
  ctx.res.end();
}

export async function insertNotification(ctx: RequestContext, bucket: string): Promise<void> {
  const body = await readJsonObject(ctx.req);
  const config = readNotificationConfig(body, ctx.state.projectId);
  await ctx.state.store.updateNotifications(bucket, (list) => [...list, config]);
  sendJson(ctx.res, 200, notificationResource(bucket, config, ctx.baseUrl));
}

export async function listNotifications(ctx: RequestContext, bucket: string): Promise<void> {
  await ctx.state.store.getBucket(bucket);
  const items = (await ctx.state.store.getNotifications(bucket)).map((c) => notificationResource(bucket, c, ctx.baseUrl));
  sendJson(ctx.res, 200, { kind: 'storage#notifications', ...(items.length ? { items } : {}) });
}

export async function getNotification(ctx: RequestContext, bucket: string, id: string): Promise<void> {
  await ctx.state.store.getBucket(bucket);
  const config = (await ctx.state.store.getNotifications(bucket)).find((c) => c.id === id);
  if (!config) throw notFound(`No such notification config: ${id}`);
  sendJson(ctx.res, 200, notificationResource(bucket, config, ctx.baseUrl));
}

export async function deleteNotification(ctx: RequestContext, bucket: string, id: string): Promise<void> {
  let found = false;
  await ctx.state.store.updateNotifications(bucket, (list) => {
    found = list.some((c) => c.id === id);
    return list.filter((c) => c.id !== id);
  });
  if (!found) throw notFound(`No such notification config: ${id}`);
  ctx.res.writeHead(204);
  ctx.res.end();
}
