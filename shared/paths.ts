import type { OutputKind } from '../schemas/common.js';
import { isJobId } from './ids.js';

/** Where each object of the pipeline lives. The trigger acts only on UPLOAD/BATCH prefixes. */
export const UPLOAD_PREFIX = 'uploads/';
export const BATCH_PREFIX = 'batch/';
export const JOBS_PREFIX = 'jobs/';
export const CACHE_PREFIX = 'cache/';

const UPLOAD_SUFFIX = '/original';

/** @example uploadObjectName('3f1c…') === 'uploads/3f1c…/original' */
export const uploadObjectName = (jobId: string): string => `${UPLOAD_PREFIX}${jobId}${UPLOAD_SUFFIX}`;

/**
 * Inverse of uploadObjectName: the job id of a server-chosen upload name, else undefined
 * (anything else under uploads/ is not ours to process).
 * @example jobIdOfUploadName('uploads/3f1c…/original') === '3f1c…'
 */
export function jobIdOfUploadName(name: string): string | undefined {
  if (!name.startsWith(UPLOAD_PREFIX) || !name.endsWith(UPLOAD_SUFFIX)) return undefined;
  const id = name.slice(UPLOAD_PREFIX.length, -UPLOAD_SUFFIX.length);
  return isJobId(id) && uploadObjectName(id) === name ? id : undefined;
}

export const statusObjectName = (jobId: string): string => `${JOBS_PREFIX}${jobId}/status.json`;

/** Inverse of statusObjectName. @example jobIdOfStatusName('jobs/3f1c…/status.json') === '3f1c…' */
export function jobIdOfStatusName(name: string): string | undefined {
  const id = name.slice(JOBS_PREFIX.length).split('/')[0] ?? '';
  return isJobId(id) && statusObjectName(id) === name ? id : undefined;
}

export const OUTPUT_FILES: Record<OutputKind, { file: string; contentType: string }> = {
  cutout: { file: 'cutout.png', contentType: 'image/png' },
  mask: { file: 'mask.png', contentType: 'image/png' },
  bw: { file: 'bw.png', contentType: 'image/png' },
  preview: { file: 'preview.webp', contentType: 'image/webp' },
};
export const outputObjectName = (jobId: string, kind: OutputKind): string => `${JOBS_PREFIX}${jobId}/${OUTPUT_FILES[kind].file}`;
export const cacheObjectName = (cacheKey: string, kind: OutputKind): string => `${CACHE_PREFIX}${cacheKey}/${OUTPUT_FILES[kind].file}`;

/** Which kind of drop an uploads-bucket object is, or undefined for anything else. */
export function triggerFor(objectName: string): 'upload' | 'batch' | undefined {
  if (objectName.startsWith(UPLOAD_PREFIX)) return 'upload';
  if (objectName.startsWith(BATCH_PREFIX) && !objectName.endsWith('/')) return 'batch';
  return undefined;
}
