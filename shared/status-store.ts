import type { Bucket } from '@google-cloud/storage';
import { parseOrThrow } from '../schemas/parse.js';
import { JobStatus } from '../schemas/status.js';
import { RetryableError } from './errors.js';
import { statusObjectName } from './paths.js';

/**
 * The job status documents (`gs://RESULTS/jobs/{jobId}/status.json`), shared by the
 * functions and the worker. Every write carries a generation precondition: creation is
 * create-only (`ifGenerationMatch: 0`) and updates are compare-and-swap on the generation
 * that was read, retried on 412. Nothing here ever overwrites blindly. What a document may
 * say and how it changes is shared/job's business: this module only stores and swaps.
 */

/** Where a stored document stands: its object generation, metageneration and labels. */
export interface DocStat {
  generation: string;
  metageneration: string;
  /** Custom object metadata. Kept across metadata patches, dropped by the next content write. */
  labels: Record<string, string>;
}

export interface StoredStatus extends DocStat {
  doc: JobStatus;
}

/** Raised by a DocObjects write whose precondition failed (HTTP 412). */
export class PreconditionFailedError extends Error {
  override readonly name = 'PreconditionFailedError';
}

/** The four object operations the store needs; `gcsDocObjects` adapts a Storage bucket, tests pass a fake. */
export interface DocObjects {
  stat(name: string): Promise<DocStat | undefined>;
  read(name: string): Promise<{ body: Buffer; stat: DocStat } | undefined>;
  /** `ifGenerationMatch: '0'` creates only; throws PreconditionFailedError on mismatch. */
  write(name: string, body: Buffer, ifGenerationMatch: string): Promise<DocStat>;
  /** Merge labels; throws PreconditionFailedError when the metageneration moved. */
  setLabels(name: string, labels: Record<string, string>, ifMetagenerationMatch: string): Promise<void>;
}

export type CreateResult = { created: true; stored: StoredStatus } | { created: false; stored: StoredStatus };
export type UpdateResult = { changed: boolean; stored: StoredStatus };

export interface StatusStore {
  /** Generation and labels only: enough for an ETag check without downloading. */
  head(jobId: string): Promise<DocStat | undefined>;
  get(jobId: string): Promise<StoredStatus | undefined>;
  /** Create-only. When a document already exists it is returned untouched (`created: false`). */
  create(doc: JobStatus): Promise<CreateResult>;
  /**
   * Compare-and-swap: `change` gets the current document and returns the next one, or
   * undefined for "no change". It may run several times (once per 412), so keep it pure.
   * Resolves undefined when no document exists. `known`: the document as this caller last
   * stored or read it; the first swap is tried on it without reading (one round trip instead
   * of three: a read is a stat and a download), and a 412 or a "no change" on it falls back
   * to reading the current document.
   */
  update(jobId: string, change: (current: JobStatus) => JobStatus | undefined, known?: StoredStatus): Promise<UpdateResult | undefined>;
  /** Set labels on the current generation (metadata only; the document is unchanged). */
  label(jobId: string, labels: Record<string, string>): Promise<void>;
}

export interface StatusStoreOptions {
  /** CAS attempts before giving up with a retryable `conflict`. */
  maxAttempts?: number;
  /** Waits between CAS attempts; injectable so tests do not sleep. */
  sleep?: (ms: number) => Promise<void>;
}

// Contention on one job is rare (the worker and the dead-letter handler at most), so a
// handful of attempts with short jittered waits settles it; past that the caller retries.
const DEFAULT_MAX_ATTEMPTS = 6;
const BASE_WAIT_MS = 25;

/**
 * The store over any DocObjects backend.
 * @example
 * const store = createStatusStore(gcsDocObjects(storage.bucket(cfg.RESULTS_BUCKET)));
 * await store.update(jobId, (doc) => toProcessing(doc, now)); // shared/job
 */
export function createStatusStore(objects: DocObjects, options: StatusStoreOptions = {}): StatusStore {
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));

  async function get(jobId: string): Promise<StoredStatus | undefined> {
    const found = await objects.read(statusObjectName(jobId));
    if (!found) return undefined;
    const doc = parseOrThrow(JobStatus, 'JobStatus', JSON.parse(found.body.toString('utf8')));
    return { ...found.stat, doc };
  }

  /** Write `next` if the document is still at `generation`; undefined when it moved (412). */
  async function swap(jobId: string, next: JobStatus, generation: string): Promise<UpdateResult | undefined> {
    const valid = parseOrThrow(JobStatus, 'JobStatus', next);
    try {
      const stat = await objects.write(statusObjectName(jobId), encode(valid), generation);
      return { changed: true, stored: { ...stat, doc: valid } };
    } catch (err) {
      if (!(err instanceof PreconditionFailedError)) throw err;
      return undefined;
    }
  }

  return {
    head: (jobId) => objects.stat(statusObjectName(jobId)),
    get,
    async create(doc) {
      const valid = parseOrThrow(JobStatus, 'JobStatus', doc);
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        try {
          const stat = await objects.write(statusObjectName(valid.jobId), encode(valid), '0');
          return { created: true, stored: { ...stat, doc: valid } };
        } catch (err) {
          if (!(err instanceof PreconditionFailedError)) throw err;
        }
        const existing = await get(valid.jobId);
        // Deleted between our write and read: rare; try to create again.
        if (existing) return { created: false, stored: existing };
      }
      throw new RetryableError('conflict', `status document for ${valid.jobId} kept changing during create`);
    },
    async update(jobId, change, known) {
      // A known document is only a guess at the current one: a swap on it that succeeds
      // proves it was current; anything else (412, or no change wanted) is decided on a read.
      if (known) {
        const next = change(known.doc);
        if (next !== undefined) {
          const swapped = await swap(jobId, next, known.generation);
          if (swapped) return swapped;
        }
      }
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        const current = await get(jobId);
        if (!current) return undefined;
        const next = change(current.doc);
        if (next === undefined) return { changed: false, stored: current };
        const swapped = await swap(jobId, next, current.generation);
        if (swapped) return swapped;
        await sleep(BASE_WAIT_MS * 2 ** (attempt - 1) * (0.5 + Math.random()));
      }
      throw new RetryableError('conflict', `status document for ${jobId} kept changing: gave up after ${maxAttempts} attempts`);
    },
    async label(jobId, labels) {
      for (let attempt = 1; attempt <= maxAttempts; attempt++) {
        const stat = await objects.stat(statusObjectName(jobId));
        if (!stat) return;
        try {
          return await objects.setLabels(statusObjectName(jobId), labels, stat.metageneration);
        } catch (err) {
          if (!(err instanceof PreconditionFailedError)) throw err;
        }
      }
      throw new RetryableError('conflict', `status document for ${jobId} kept changing while labelling`);
    },
  };
}

function encode(doc: JobStatus): Buffer {
  return Buffer.from(`${JSON.stringify(doc)}\n`);
}

function statOf(metadata: { generation?: unknown; metageneration?: unknown; metadata?: unknown }): DocStat {
  const labels: Record<string, string> = {};
  if (metadata.metadata && typeof metadata.metadata === 'object') {
    for (const [k, v] of Object.entries(metadata.metadata as Record<string, unknown>)) if (typeof v === 'string') labels[k] = v;
  }
  return { generation: String(metadata.generation), metageneration: String(metadata.metageneration ?? '1'), labels };
}

function httpCode(err: unknown): unknown {
  return typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
}

function rethrow(err: unknown): never {
  if (httpCode(err) === 412) throw new PreconditionFailedError('precondition failed', { cause: err });
  throw err;
}

// A read can race a write: the generation we stat'ed may be replaced before we download it.
const READ_ATTEMPTS = 4;

/**
 * DocObjects over a Cloud Storage bucket via the official client (emulator-aware through
 * the client's apiEndpoint).
 * @example gcsDocObjects(new Storage({ projectId }).bucket('my-results'))
 */
export function gcsDocObjects(bucket: Bucket): DocObjects {
  const stat = async (name: string): Promise<DocStat | undefined> => {
    try {
      const [metadata] = await bucket.file(name).getMetadata();
      return statOf(metadata);
    } catch (err) {
      if (httpCode(err) === 404) return undefined;
      throw err;
    }
  };
  return {
    stat,
    async read(name) {
      for (let attempt = 0; attempt < READ_ATTEMPTS; attempt++) {
        const s = await stat(name);
        if (!s) return undefined;
        try {
          // Pinned to the generation just stat'ed, so body and generation always agree.
          const [body] = await bucket.file(name, { generation: Number(s.generation) }).download();
          return { body, stat: s };
        } catch (err) {
          if (httpCode(err) !== 404) throw err;
        }
      }
      throw new RetryableError('conflict', `${name} kept changing while being read`);
    },
    async write(name, body, ifGenerationMatch) {
      const file = bucket.file(name);
      try {
        await file.save(body, {
          resumable: false,
          contentType: 'application/json',
          metadata: { cacheControl: 'no-store' },
          preconditionOpts: { ifGenerationMatch: Number(ifGenerationMatch) },
        });
      } catch (err) {
        rethrow(err);
      }
      return statOf(file.metadata);
    },
    async setLabels(name, labels, ifMetagenerationMatch) {
      try {
        await bucket.file(name).setMetadata({ metadata: labels }, { ifMetagenerationMatch: Number(ifMetagenerationMatch) });
      } catch (err) {
        rethrow(err);
      }
    },
  };
}
