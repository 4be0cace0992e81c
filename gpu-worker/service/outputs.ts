import { createHash } from 'node:crypto';
import { z } from 'zod';
import { outputKind, type OutputKind } from '../../schemas/common.js';
import { Quality, type OutputObject } from '../../schemas/status.js';
import { classify } from '../../shared/errors.js';
import { CACHE_PREFIX, cacheObjectName, outputObjectName } from '../../shared/paths.js';
import type { RenderedOutput } from '../pipeline/contract.js';
import { settleAll } from '../../shared/settle-all.js';
import type { BlobStore } from './ports.js';

/**
 * Outputs in the results bucket: the job's own deterministic names (a redelivered job
 * overwrites with identical bytes) and a content-addressed cache of earlier results.
 * Expiry of `cache/` is a bucket lifecycle rule, not code.
 */

export interface CacheKeyParts {
  /** MD5 of the original's bytes, base64 as Cloud Storage reports it. */
  sourceMd5: string;
  modelId: string;
  modelSha256?: string;
  /** The pipeline's rendering id (`ModelDescriptor.rendering`). */
  rendering?: string;
  outputs: readonly OutputKind[];
}

/** @example cacheKey({ sourceMd5: 'rL0Y…', modelId: 'isnet-general-1024', rendering: 'render-2+refine', outputs: ['cutout'] }) // 64 hex digits */
export function cacheKey(parts: CacheKeyParts): string {
  // Sorted, so ['mask','cutout'] and ['cutout','mask'] share one entry.
  const outputs = [...parts.outputs].sort().join(',');
  return createHash('sha256')
    .update(['v2', parts.sourceMd5, parts.modelId, parts.modelSha256 ?? '', parts.rendering ?? '', outputs].join('\0'))
    .digest('hex');
}

const ManifestEntry = z.object({ kind: outputKind, contentType: z.string(), size: z.number().int().nonnegative(), width: z.number().int().positive(), height: z.number().int().positive() });
// `quality`: the verdict of the job that filled the entry, so a cache hit carries it too (absent in older entries).
const Manifest = z.object({ version: z.literal(1), outputs: z.array(ManifestEntry).min(1), quality: Quality.optional() });
type ManifestEntry = z.infer<typeof ManifestEntry>;

/** A complete cache entry: its key and what its manifest lists. */
export interface CacheHit {
  key: string;
  entries: ManifestEntry[];
  quality?: Quality;
}

export const manifestObjectName = (key: string): string => `${CACHE_PREFIX}${key}/manifest.json`;

export class ResultsWriter {
  constructor(
    private readonly store: BlobStore,
    private readonly bucket: string,
  ) {}

  async write(jobId: string, rendered: readonly RenderedOutput[]): Promise<OutputObject[]> {
    return Promise.all(
      rendered.map(async (r) => {
        const name = outputObjectName(jobId, r.kind);
        await this.store.write(this.bucket, name, r.data, r.contentType);
        return { kind: r.kind, bucket: this.bucket, name, contentType: r.contentType, size: r.data.length, width: r.width, height: r.height };
      }),
    );
  }
}

export class OutputCache {
  constructor(
    private readonly store: BlobStore,
    private readonly bucket: string,
  ) {}

  /** The complete entry under `key`, or undefined on a miss (or a torn entry). */
  async lookup(key: string): Promise<CacheHit | undefined> {
    const manifest = await this.manifest(key);
    return manifest ? { key, entries: manifest.outputs, ...(manifest.quality ? { quality: manifest.quality } : {}) } : undefined;
  }

  /**
   * Copies a found entry to the job's names; undefined when it lacks an output the job wants,
   * or when one of its files is gone (the lifecycle rule deletes an entry's objects one by
   * one, so a manifest can outlive its outputs for a while): the job then renders afresh.
   */
  async restore(hit: CacheHit, jobId: string, wanted: readonly OutputKind[]): Promise<OutputObject[] | undefined> {
    const byKind = new Map(hit.entries.map((e) => [e.kind, e]));
    if (!wanted.every((k) => byKind.has(k))) return undefined;
    try {
      // Every copy settles before the answer, so none lands on a name the rendering writes next.
      return await settleAll(
        wanted.map(async (kind) => {
          const e = byKind.get(kind) as ManifestEntry;
          const name = outputObjectName(jobId, kind);
          await this.store.copy(this.bucket, cacheObjectName(hit.key, kind), name);
          return { kind, bucket: this.bucket, name, contentType: e.contentType, size: e.size, width: e.width, height: e.height };
        }),
      );
    } catch (err) {
      if (classify(err).code === 'not_found') return undefined;
      throw err;
    }
  }

  /**
   * Fills the entry from a finished job's outputs by server-side copies (no bytes through
   * this process), the manifest last: a manifest means a complete entry.
   */
  async save(key: string, outputs: readonly OutputObject[], quality?: Quality): Promise<void> {
    await Promise.all(outputs.map((o) => this.store.copy(this.bucket, o.name, cacheObjectName(key, o.kind))));
    const manifest = { version: 1, outputs: outputs.map((o) => ({ kind: o.kind, contentType: o.contentType, size: o.size, width: o.width, height: o.height })), ...(quality ? { quality } : {}) };
    await this.store.write(this.bucket, manifestObjectName(key), Buffer.from(JSON.stringify(manifest)), 'application/json');
  }

  private async manifest(key: string): Promise<z.infer<typeof Manifest> | undefined> {
    const meta = await this.store.stat(this.bucket, manifestObjectName(key));
    if (!meta) return undefined;
    let raw: unknown;
    try {
      raw = JSON.parse((await this.store.read(this.bucket, manifestObjectName(key))).toString('utf8'));
    } catch {
      return undefined;
    }
    const parsed = Manifest.safeParse(raw);
    return parsed.success ? parsed.data : undefined;
  }
}
