import { PermanentError, classify } from '../../shared/errors.js';
import type { SourceObject } from '../../schemas/job.js';
import type { BlobStore } from './ports.js';

/**
 * Reads the original at the generation the job was created for. A job is about those bytes:
 * if the object was replaced (or deleted) since, the job can never succeed, and the newer
 * upload has a job of its own.
 */
export async function readPinnedSource(store: BlobStore, source: SourceObject): Promise<Buffer> {
  try {
    return await store.read(source.bucket, source.name, source.generation);
  } catch (err) {
    if (classify(err).code !== 'not_found') throw err;
    const live = await store.stat(source.bucket, source.name);
    if (live && live.generation !== source.generation) {
      throw new PermanentError('source_changed', `gs://${source.bucket}/${source.name} was replaced: generation ${source.generation} is gone, ${live.generation} is live`, { cause: err });
    }
    throw new PermanentError('source_missing', `gs://${source.bucket}/${source.name} generation ${source.generation} no longer exists`, { cause: err });
  }
}
