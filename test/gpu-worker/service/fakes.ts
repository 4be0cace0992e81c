import type { JobMessage } from '../../../schemas/job.js';
import { createLogger, type Logger } from '../../../shared/logger.js';
import { PreconditionFailedError, createStatusStore, type DocObjects, type DocStat, type StatusStore } from '../../../shared/status-store.js';
import type { ImagePipeline, ProcessRequest, ProcessResult } from '../../../gpu-worker/pipeline/contract.js';
import type { JobMetrics, JobOutcome } from '../../../gpu-worker/service/metrics.js';
import type { BlobStore, Delivery, ObjectMetadata, PubSubMessageOut, TopicPublisher } from '../../../gpu-worker/service/ports.js';
import { OUTPUT_FILES } from '../../../shared/paths.js';
import { createHash } from 'node:crypto';

/** Hand-written fakes for the worker's ports: in-memory, synchronous underneath, with knobs to fail. */

export const silentLogger = (): Logger => createLogger({ component: 'test', level: 'silent' });

class NotFound extends Error {
  readonly code = 404;
}

interface Stored {
  data: Buffer;
  generation: string;
  contentType: string;
}

export class FakeBlobStore implements BlobStore {
  readonly objects = new Map<string, Stored>();
  readonly writes: string[] = [];
  readonly copies: Array<[string, string]> = [];
  failWrites: Error | undefined;
  private nextGeneration = 1_700_000_000_000_000;

  put(bucket: string, name: string, data: Buffer, contentType = 'application/octet-stream'): string {
    const generation = String(this.nextGeneration++);
    this.objects.set(`${bucket}/${name}`, { data, generation, contentType });
    return generation;
  }
  delete(bucket: string, name: string): void {
    this.objects.delete(`${bucket}/${name}`);
  }
  get(bucket: string, name: string): Stored | undefined {
    return this.objects.get(`${bucket}/${name}`);
  }
  names(prefix = ''): string[] {
    return [...this.objects.keys()].filter((k) => k.startsWith(prefix)).sort();
  }

  async read(bucket: string, name: string, generation?: string): Promise<Buffer> {
    const o = this.objects.get(`${bucket}/${name}`);
    if (!o || (generation !== undefined && o.generation !== generation)) throw new NotFound(`No such object: ${bucket}/${name}#${generation ?? ''}`);
    return o.data;
  }
  async stat(bucket: string, name: string): Promise<ObjectMetadata | undefined> {
    const o = this.objects.get(`${bucket}/${name}`);
    return o ? { generation: o.generation, size: o.data.length, contentType: o.contentType } : undefined;
  }
  async write(bucket: string, name: string, data: Buffer, contentType: string): Promise<void> {
    if (this.failWrites) throw this.failWrites;
    this.writes.push(`${bucket}/${name}`);
    this.put(bucket, name, data, contentType);
  }
  async copy(bucket: string, from: string, to: string): Promise<void> {
    const o = this.objects.get(`${bucket}/${from}`);
    if (!o) throw new NotFound(`No such object: ${bucket}/${from}`);
    this.copies.push([from, to]);
    this.put(bucket, to, o.data, o.contentType);
  }
}

/** DocObjects in memory, with real generation preconditions, under the shared status store. */
export class FakeDocObjects implements DocObjects {
  readonly docs = new Map<string, { body: Buffer; stat: DocStat }>();
  private generation = 1;

  async stat(name: string): Promise<DocStat | undefined> {
    return this.docs.get(name)?.stat;
  }
  async read(name: string): Promise<{ body: Buffer; stat: DocStat } | undefined> {
    return this.docs.get(name);
  }
  async write(name: string, body: Buffer, ifGenerationMatch: string): Promise<DocStat> {
    const current = this.docs.get(name);
    if ((current?.stat.generation ?? '0') !== ifGenerationMatch) throw new PreconditionFailedError('precondition failed');
    const stat = { generation: String(++this.generation), metageneration: '1', labels: {} };
    this.docs.set(name, { body, stat });
    return stat;
  }
  async setLabels(): Promise<void> {}
}

export function fakeStatusStore(): { store: StatusStore; objects: FakeDocObjects } {
  const objects = new FakeDocObjects();
  return { store: createStatusStore(objects, { sleep: async () => {} }), objects };
}

export class FakePublisher implements TopicPublisher {
  readonly messages: PubSubMessageOut[] = [];
  fail: Error | undefined;
  async publishMessage(m: PubSubMessageOut): Promise<string> {
    if (this.fail) throw this.fail;
    this.messages.push(m);
    return String(this.messages.length);
  }
  ids(): string[] {
    return this.messages.map((m) => m.attributes['ce-id'] ?? '');
  }
}

export class FakePipeline implements ImagePipeline {
  readonly model: { id: string; provider: string; sha256: string; rendering: string } = { id: 'fake-model', provider: 'cpu', sha256: 'a'.repeat(64), rendering: 'render-test' };
  readonly calls: ProcessRequest[] = [];
  fail: Error | undefined;
  /** When set, process() waits for this before answering. */
  gate: Promise<void> | undefined;
  /** When set, process() waits for this after handing over its preview (a job whose full-size encode is still running). */
  afterPreview: Promise<void> | undefined;
  /** The verdict process() answers with. */
  quality: ProcessResult['quality'] = { score: 0.9, flags: [] };
  warmups = 0;
  /** When set, warmup() waits for this (and throws `warmupFail` if set). */
  warmupGate: Promise<void> | undefined;
  warmupFail: Error | undefined;
  closed = false;

  async process(req: ProcessRequest): Promise<ProcessResult> {
    this.calls.push(req);
    if (this.gate) await this.gate;
    if (this.fail) throw this.fail;
    const digest = createHash('sha1').update(req.bytes).digest();
    const outputs = req.outputs.map((kind) => ({ kind, data: Buffer.concat([Buffer.from(`${kind}:`), digest]), contentType: OUTPUT_FILES[kind].contentType, width: 40, height: 30 }));
    const preview = outputs.find((o) => o.kind === 'preview');
    if (preview) req.onPreview?.({ ...preview, data: Buffer.from(preview.data) });
    if (this.afterPreview) await this.afterPreview;
    return { outputs, timingsMs: { decode: 1, infer: 2, encode: 3 }, batchSize: 1, ...(this.quality ? { quality: this.quality } : {}) };
  }
  async warmup(): Promise<void> {
    this.warmups++;
    if (this.warmupGate) await this.warmupGate;
    if (this.warmupFail) throw this.warmupFail;
  }
  async close(): Promise<void> {
    this.closed = true;
  }
}

export class RecordingMetrics implements JobMetrics {
  readonly outcomes: JobOutcome[] = [];
  readonly stages = new Map<string, number>();
  readonly cache: boolean[] = [];
  readonly batches: number[] = [];
  jobFinished(outcome: JobOutcome): void {
    this.outcomes.push(outcome);
  }
  stageDuration(stage: string, ms: number): void {
    this.stages.set(stage, ms);
  }
  cacheLookup(hit: boolean): void {
    this.cache.push(hit);
  }
  batchSize(size: number): void {
    this.batches.push(size);
  }
}

export const JOB_ID = '0123456789abcdef0123456789abcdef';
export const UPLOADS = 'uploads-bkt';
export const RESULTS = 'results-bkt';

export function jobMessage(overrides: Partial<JobMessage> & { generation: string; jobId?: string }): JobMessage {
  const jobId = overrides.jobId ?? JOB_ID;
  const { generation, ...rest } = overrides;
  return {
    schemaVersion: 1,
    jobId,
    trigger: 'upload',
    source: { bucket: UPLOADS, name: `uploads/${jobId}/original`, generation, contentType: 'image/jpeg', size: 10, width: 40, height: 30 },
    outputs: ['cutout', 'mask'],
    requestedAt: '2026-11-23T18:00:00.000Z',
    ...rest,
  };
}

export function delivery(body: unknown, attempt = 1): Delivery {
  return { data: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)), attributes: {}, messageId: `m-${attempt}`, deliveryAttempt: attempt };
}
