// The object store on disk. Layout (inspectable after a run):
//   {dataDir}/{bucket}/bucket.json                 bucket metadata (incl. CORS)
//   {dataDir}/{bucket}/notifications.json          notification configs
//   {dataDir}/{bucket}/meta/{encoded name}.json    object metadata sidecar (the commit point)
//   {dataDir}/{bucket}/objects/{encoded name}#{generation}   object bytes
//   {dataDir}/.tmp/                                uploads in progress
// Bytes are written per generation and the sidecar is renamed into place last, so a reader
// never sees new metadata with old bytes. Writes to one object are serialized by a lock.
import { randomUUID } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Digest } from './body-sink.js';
import { conflict, notFound } from './errors.js';
import { decodeObjectFileName, encodeObjectFileName, nextGeneration } from './names.js';
import { pageOfNames, type ListOptions } from './listing.js';
import { checkPreconditions } from './preconditions.js';
import type { BucketMeta, NotificationConfig, ObjectAttrs, ObjectMeta, Preconditions } from './types.js';

export type ObjectEvent = 'OBJECT_FINALIZE' | 'OBJECT_METADATA_UPDATE' | 'OBJECT_DELETE';
export type ObjectListener = (event: ObjectEvent, meta: ObjectMeta) => void;

export interface ListResult {
  items: ObjectMeta[];
  prefixes: string[];
  nextPageToken?: string;
}

function isMissing(err: unknown): boolean {
  // ENOTDIR: a stray file in the data directory where a bucket directory would be.
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
}

export class ObjectStore {
  private readonly locks = new Map<string, Promise<unknown>>();
  private readonly listeners: ObjectListener[] = [];
  readonly tmpDir: string;

  constructor(readonly dataDir: string) {
    this.tmpDir = join(dataDir, '.tmp');
  }

  async init(): Promise<void> {
    // Uploads that were in flight when a previous run died can never complete: drop them.
    await rm(this.tmpDir, { recursive: true, force: true });
    await mkdir(this.tmpDir, { recursive: true });
  }

  onObjectEvent(listener: ObjectListener): void {
    this.listeners.push(listener);
  }

  tempPath(): string {
    return join(this.tmpDir, randomUUID());
  }

  // ---- buckets ----

  private bucketDir(bucket: string): string {
    return join(this.dataDir, bucket);
  }

  async findBucket(name: string): Promise<BucketMeta | undefined> {
    return readJson<BucketMeta>(join(this.bucketDir(name), 'bucket.json'));
  }

  async getBucket(name: string): Promise<BucketMeta> {
    const meta = await this.findBucket(name);
    if (!meta) throw notFound(`The specified bucket does not exist: ${name}`, 'NoSuchBucket');
    return meta;
  }

  async createBucket(meta: BucketMeta): Promise<BucketMeta> {
    return this.withLock(`bucket:${meta.name}`, async () => {
      if (await this.findBucket(meta.name)) throw conflict(`Your previous request to create the named bucket succeeded and you already own it: ${meta.name}`);
      await mkdir(join(this.bucketDir(meta.name), 'meta'), { recursive: true });
      await mkdir(join(this.bucketDir(meta.name), 'objects'), { recursive: true });
      await this.writeJsonAtomic(join(this.bucketDir(meta.name), 'bucket.json'), meta);
      return meta;
    });
  }

  async updateBucket(name: string, change: (meta: BucketMeta) => BucketMeta): Promise<BucketMeta> {
    return this.withLock(`bucket:${name}`, async () => {
      const next = change(await this.getBucket(name));
      await this.writeJsonAtomic(join(this.bucketDir(name), 'bucket.json'), next);
      return next;
    });
  }

  async deleteBucket(name: string): Promise<void> {
    await this.getBucket(name);
    const entries = await readdir(join(this.bucketDir(name), 'meta'));
    if (entries.length > 0) throw conflict(`The bucket you tried to delete is not empty: ${name}`);
    await rm(this.bucketDir(name), { recursive: true, force: true });
  }

  async listBuckets(): Promise<BucketMeta[]> {
    const out: BucketMeta[] = [];
    for (const entry of (await readdir(this.dataDir)).sort()) {
      if (entry.startsWith('.')) continue;
      const meta = await this.findBucket(entry);
      if (meta) out.push(meta);
    }
    return out;
  }

  async getNotifications(bucket: string): Promise<NotificationConfig[]> {
    return (await readJson<NotificationConfig[]>(join(this.bucketDir(bucket), 'notifications.json'))) ?? [];
  }

  async updateNotifications(bucket: string, change: (list: NotificationConfig[]) => NotificationConfig[]): Promise<void> {
    await this.withLock(`notifications:${bucket}`, async () => {
      await this.getBucket(bucket);
      const next = change(await this.getNotifications(bucket));
      await this.writeJsonAtomic(join(this.bucketDir(bucket), 'notifications.json'), next);
    });
  }

  // ---- objects ----

  private metaPath(bucket: string, name: string): string {
    return join(this.bucketDir(bucket), 'meta', `${encodeObjectFileName(name)}.json`);
  }

  /** Where the bytes of this generation live. */
  dataPath(meta: Pick<ObjectMeta, 'bucket' | 'name' | 'generation'>): string {
    return join(this.bucketDir(meta.bucket), 'objects', `${encodeObjectFileName(meta.name)}#${meta.generation}`);
  }

  async findObject(bucket: string, name: string): Promise<ObjectMeta | undefined> {
    return readJson<ObjectMeta>(this.metaPath(bucket, name));
  }

  /** The live object; a `generation` other than the live one is a 404 (only the live one is kept). */
  async getObject(bucket: string, name: string, generation?: string | null): Promise<ObjectMeta> {
    await this.getBucket(bucket);
    const meta = await this.findObject(bucket, name);
    if (!meta || (generation && generation !== meta.generation)) {
      throw notFound(`No such object: ${bucket}/${name}`);
    }
    return meta;
  }

  /**
   * Makes `tempFile` the new live generation of `bucket/name` if `pre` holds.
   * The temp file is moved, not copied; on failure it is left for the caller to delete.
   */
  async commit(bucket: string, name: string, tempFile: string, digest: Digest, attrs: ObjectAttrs, pre: Preconditions): Promise<ObjectMeta> {
    await this.getBucket(bucket);
    const meta = await this.withLock(`object:${bucket}/${name}`, async () => {
      const live = await this.findObject(bucket, name);
      checkPreconditions(live, pre);
      const now = new Date().toISOString();
      const generation = nextGeneration();
      const next: ObjectMeta = {
        ...stripUndefined(attrs),
        contentType: attrs.contentType || 'application/octet-stream',
        bucket,
        name,
        generation,
        metageneration: '1',
        size: String(digest.size),
        md5Hash: digest.md5Hash,
        crc32c: digest.crc32c,
        timeCreated: now,
        updated: now,
        storageClass: 'STANDARD',
        etag: etagFor(generation, '1'),
      };
      await rename(tempFile, this.dataPath(next));
      await this.writeJsonAtomic(this.metaPath(bucket, name), next);
      if (live) await rm(this.dataPath(live), { force: true });
      return next;
    });
    this.emit('OBJECT_FINALIZE', meta);
    return meta;
  }

  /** Applies `change` to the metadata under the lock; metageneration + 1. */
  async updateObject(bucket: string, name: string, pre: Preconditions, change: (meta: ObjectMeta) => ObjectAttrs): Promise<ObjectMeta> {
    await this.getBucket(bucket);
    const meta = await this.withLock(`object:${bucket}/${name}`, async () => {
      const live = await this.findObject(bucket, name);
      if (!live) throw notFound(`No such object: ${bucket}/${name}`);
      checkPreconditions(live, pre);
      const metageneration = String(Number(live.metageneration) + 1);
      const next: ObjectMeta = {
        ...live,
        ...change(live),
        metageneration,
        updated: new Date().toISOString(),
        etag: etagFor(live.generation, metageneration),
      };
      if (next.metadata && Object.keys(next.metadata).length === 0) delete next.metadata;
      await this.writeJsonAtomic(this.metaPath(bucket, name), stripUndefined(next));
      return next;
    });
    this.emit('OBJECT_METADATA_UPDATE', meta);
    return meta;
  }

  async deleteObject(bucket: string, name: string, pre: Preconditions, generation?: string | null): Promise<void> {
    await this.getBucket(bucket);
    const meta = await this.withLock(`object:${bucket}/${name}`, async () => {
      const live = await this.findObject(bucket, name);
      if (!live || (generation && generation !== live.generation)) throw notFound(`No such object: ${bucket}/${name}`);
      checkPreconditions(live, pre);
      await rm(this.metaPath(bucket, name), { force: true });
      await rm(this.dataPath(live), { force: true });
      return live;
    });
    this.emit('OBJECT_DELETE', meta);
  }

  /** Copies the bytes of `source` into a fresh temp file (for copy/rewrite). */
  async snapshot(source: ObjectMeta): Promise<string> {
    const temp = this.tempPath();
    try {
      await copyFile(this.dataPath(source), temp);
    } catch (err) {
      if (isMissing(err)) throw notFound(`No such object: ${source.bucket}/${source.name}`);
      throw err;
    }
    return temp;
  }

  async listObjects(bucket: string, opts: ListOptions): Promise<ListResult> {
    await this.getBucket(bucket);
    const page = pageOfNames(await this.objectNames(bucket), opts);
    const items: ObjectMeta[] = [];
    for (const name of page.names) {
      const meta = await this.findObject(bucket, name);
      if (meta) items.push(meta); // else deleted while listing
    }
    return { items, prefixes: page.prefixes, ...(page.nextPageToken !== undefined ? { nextPageToken: page.nextPageToken } : {}) };
  }

  private async objectNames(bucket: string): Promise<string[]> {
    const files = await readdir(join(this.bucketDir(bucket), 'meta'));
    const names: string[] = [];
    for (const file of files) {
      if (!file.endsWith('.json')) continue;
      const base = file.slice(0, -'.json'.length);
      const name = decodeObjectFileName(base) ?? (await readJson<ObjectMeta>(join(this.bucketDir(bucket), 'meta', file)))?.name;
      if (name !== undefined) names.push(name);
    }
    return names.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }

  // ---- plumbing ----

  private emit(event: ObjectEvent, meta: ObjectMeta): void {
    for (const listener of this.listeners) listener(event, meta);
  }

  private async writeJsonAtomic(path: string, value: unknown): Promise<void> {
    const temp = this.tempPath();
    await writeFile(temp, JSON.stringify(value, null, 2));
    await rename(temp, path);
  }

  /** Runs `fn` after every earlier holder of `key` has finished (a promise-chain mutex). */
  private async withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.locks.set(key, settled);
    try {
      return await run;
    } finally {
      if (this.locks.get(key) === settled) this.locks.delete(key);
    }
  }
}

function etagFor(generation: string, metageneration: string): string {
  return Buffer.from(`${generation}/${metageneration}`).toString('base64');
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== null)) as T;
}
