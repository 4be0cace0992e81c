import { batchJobId } from '../ids.js';
import { jobIdOfUploadName, triggerFor } from '../paths.js';

export type Trigger = 'upload' | 'batch';

/**
 * The job an uploads-bucket object starts, or undefined when it starts none: a browser
 * upload is named after its job (`uploads/{jobId}/original`, see shared/paths.ts); a batch
 * drop's job id is derived from bucket, name and generation, so a redelivered event finds
 * the same job.
 * @example jobForObject({ bucket: 'uploads', name: 'batch/cats/1.jpg', generation: '17' }, 'uploads') // { jobId: 'e3b0…', trigger: 'batch' }
 */
export function jobForObject(object: { bucket: string; name: string; generation: string }, uploadsBucket: string): { jobId: string; trigger: Trigger } | undefined {
  if (object.bucket !== uploadsBucket) return undefined;
  const trigger = triggerFor(object.name);
  if (trigger === 'batch') return { jobId: batchJobId(object.bucket, object.name, object.generation), trigger };
  const jobId = trigger === 'upload' ? jobIdOfUploadName(object.name) : undefined;
  return jobId === undefined ? undefined : { jobId, trigger: 'upload' };
}
