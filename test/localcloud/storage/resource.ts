// JSON API resource shapes built from stored metadata. Links point back at the emulator
// (`baseUrl`) so a client following them stays local.
import type { BucketMeta, NotificationConfig, ObjectMeta } from './types.js';

export function objectResource(meta: ObjectMeta, baseUrl: string): Record<string, unknown> {
  const b = encodeURIComponent(meta.bucket);
  const o = encodeURIComponent(meta.name);
  return {
    kind: 'storage#object',
    id: `${meta.bucket}/${meta.name}/${meta.generation}`,
    selfLink: `${baseUrl}/storage/v1/b/${b}/o/${o}`,
    mediaLink: `${baseUrl}/download/storage/v1/b/${b}/o/${o}?generation=${meta.generation}&alt=media`,
    ...meta,
    timeStorageClassUpdated: meta.timeCreated,
  };
}

export function bucketResource(meta: BucketMeta, baseUrl: string): Record<string, unknown> {
  return {
    kind: 'storage#bucket',
    id: meta.name,
    selfLink: `${baseUrl}/storage/v1/b/${encodeURIComponent(meta.name)}`,
    projectNumber: '0',
    name: meta.name,
    timeCreated: meta.timeCreated,
    updated: meta.updated,
    metageneration: meta.metageneration,
    location: meta.location,
    locationType: 'region',
    storageClass: meta.storageClass,
    etag: Buffer.from(`${meta.name}/${meta.metageneration}`).toString('base64'),
    ...(meta.cors.length ? { cors: meta.cors } : {}),
  };
}

export function notificationResource(bucket: string, config: NotificationConfig, baseUrl: string): Record<string, unknown> {
  return {
    kind: 'storage#notification',
    selfLink: `${baseUrl}/storage/v1/b/${encodeURIComponent(bucket)}/notificationConfigs/${config.id}`,
    ...config,
  };
}
