import { PermanentError, classify } from '../../shared/errors.js';
import { forGeneration, generationStanding, jobForObject, supersededBy } from '../../shared/job/index.js';
import type { StatusStore } from '../../shared/status-store.js';
import type { JobMessage, SourceObject } from '../../schemas/job.js';
import type { BlobStore } from './ports.js';

/**
 * The message's generation is no longer the job's: a newer PUT of the same upload took the
 * job over (its finalize event moved the document, or will: see shared/job/generations.ts),
 * and that generation's own message owns the job. Not a failure: the delivery is acked and
 * the job is left to the newer message.
 */
export class SupersededMessage extends Error {
  override readonly name = 'SupersededMessage';
}

/**
 * Why the worker will not read this message's source, or undefined when it may: only what
 * ingest wrote, an upload (`uploads/{jobId}/original`) or a batch drop (`batch/…`) of the
 * uploads bucket. A second line of defence behind the jobs topic's IAM: a message naming
 * the results bucket (other jobs' outputs, the status documents) or anything else is refused.
 * @example foreignSource({ bucket: 'results', name: 'jobs/x/cutout.png', generation: '1' }, 'uploads') // 'source gs://results/jobs/x/cutout.png#1 is not …'
 */
export function foreignSource(source: Pick<SourceObject, 'bucket' | 'name' | 'generation'>, uploadsBucket: string): string | undefined {
  if (jobForObject(source, uploadsBucket)) return undefined;
  return `source ${sourceUri(source)} is not an upload or a batch drop of gs://${uploadsBucket} (uploads/{jobId}/original or batch/…): not read`;
}

/** @example sourceUri({ bucket: 'b', name: 'batch/a.jpg', generation: '7' }) === 'gs://b/batch/a.jpg#7' */
export function sourceUri(source: Pick<SourceObject, 'bucket' | 'name' | 'generation'>): string {
  return `gs://${source.bucket}/${source.name}#${source.generation}`;
}

/**
 * Reads the original at the generation the job was created for. A job is about those bytes:
 * if the object was replaced by a newer PUT of the same upload, that PUT's message owns the
 * job (`SupersededMessage`); if it was replaced otherwise (a batch drop's newer generation is
 * another job) or deleted, this job can never succeed.
 */
export async function readPinnedSource(store: BlobStore, msg: Pick<JobMessage, 'jobId' | 'source'>, uploadsBucket: string): Promise<Buffer> {
  const { source } = msg;
  try {
    return await store.read(source.bucket, source.name, source.generation);
  } catch (err) {
    if (classify(err).code !== 'not_found') throw err;
    const live = await store.stat(source.bucket, source.name);
    if (live && supersededBy(source, live.generation, msg.jobId, uploadsBucket)) {
      throw new SupersededMessage(`${sourceUri(source)} was replaced by generation ${live.generation} of the same upload`, { cause: err });
    }
    if (live && live.generation !== source.generation) {
      throw new PermanentError('source_changed', `gs://${source.bucket}/${source.name} was replaced: generation ${source.generation} is gone, ${live.generation} is live`, { cause: err });
    }
    throw new PermanentError('source_missing', `gs://${source.bucket}/${source.name} generation ${source.generation} no longer exists`, { cause: err });
  }
}

/**
 * The status store as one message's handling sees it: every update is made only while the
 * document names the message's generation (`forGeneration`), and one that finds another
 * generation there throws `SupersededMessage` instead of answering "no change", so no path
 * of the handler (claim, preview, success, failure) can write for, or announce, a job that
 * has moved on to a newer upload.
 */
export function statusStoreForGeneration(store: StatusStore, generation: string): StatusStore {
  return {
    head: (jobId) => store.head(jobId),
    get: (jobId) => store.get(jobId),
    create: (doc) => store.create(doc),
    label: (jobId, labels) => store.label(jobId, labels),
    async update(jobId, change) {
      let other: string | undefined;
      const guarded = forGeneration(generation, change);
      const result = await store.update(jobId, (doc) => {
        other = generationStanding(doc, generation) === 'same' ? undefined : (doc.source.generation ?? '');
        return guarded(doc);
      });
      if (other !== undefined) throw new SupersededMessage(`the job now follows generation ${other} of its source, not ${generation}`);
      return result;
    },
  };
}
