import { createHash, randomBytes } from 'node:crypto';
import { JOB_ID_PATTERN } from '../schemas/common.js';

/**
 * A fresh 128-bit job id for a browser upload.
 * @example newJobId() // '3f1c9a0e5b7d4e2f8a6c1b0d9e8f7a6b'
 */
export function newJobId(): string {
  return randomBytes(16).toString('hex');
}

/**
 * The job id of a batch drop: the same object generation always maps to the same job,
 * so a redelivered finalize event cannot start a second one.
 * @example batchJobId('uploads', 'batch/cats/1.jpg', '1732380000123456')
 */
export function batchJobId(bucket: string, name: string, generation: string): string {
  // NUL cannot occur in bucket or object names, so the fields cannot run together.
  return createHash('sha256').update(`${bucket}\0${name}\0${generation}`).digest('hex').slice(0, 32);
}

export function isJobId(value: string): boolean {
  return JOB_ID_PATTERN.test(value);
}
