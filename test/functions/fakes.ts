import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../shared/logger.js';
import { createStatusStore, PreconditionFailedError, type DocObjects, type DocStat, type StatusStore } from '../../shared/status-store.js';
import type { Clock, Deps, ObjectRead, Objects, OutgoingMessage, Publisher, SignedUrlRequest } from '../../functions/deps.js';
import type { HttpRequest, HttpResponse } from '../../functions/http.js';

/** Hand-written fakes for the functions' dependencies: in memory, with knobs to fail. */

export class FakeClock implements Clock {
  constructor(public ms = Date.parse('2026-11-23T12:00:00.000Z')) {}
  now(): Date {
    return new Date(this.ms);
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

/** Log lines as parsed JSON, so tests can assert on named events. */
export function captureLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger({ component: 'test', level: 'debug' }, sink), lines };
}

export class FakeDocObjects implements DocObjects {
  readonly docs = new Map<string, { body: Buffer; stat: DocStat }>();
  private nextGeneration = 1_000;
  /** Called before each write; lets a test slip in a competing writer. */
  beforeWrite: ((name: string) => void) | undefined;
  failWith: Error | undefined;
  writes = 0;
  /** stat and read calls (a read is a stat and a download on Cloud Storage). */
  reads = 0;

  async stat(name: string): Promise<DocStat | undefined> {
    if (this.failWith) throw this.failWith;
    this.reads++;
    const d = this.docs.get(name);
    return d && { ...d.stat, labels: { ...d.stat.labels } };
  }
  async read(name: string): Promise<{ body: Buffer; stat: DocStat } | undefined> {
    if (this.failWith) throw this.failWith;
    this.reads++;
    const d = this.docs.get(name);
    return d && { body: d.body, stat: { ...d.stat, labels: { ...d.stat.labels } } };
  }
  async write(name: string, body: Buffer, ifGenerationMatch: string): Promise<DocStat> {
    if (this.failWith) throw this.failWith;
    this.beforeWrite?.(name);
    const current = this.docs.get(name);
    if ((current?.stat.generation ?? '0') !== ifGenerationMatch) throw new PreconditionFailedError(`412 on ${name}`);
    return this.put(name, body);
  }
  async setLabels(name: string, labels: Record<string, string>, ifMetagenerationMatch: string): Promise<void> {
    if (this.failWith) throw this.failWith;
    const current = this.docs.get(name);
    if (!current || current.stat.metageneration !== ifMetagenerationMatch) throw new PreconditionFailedError(`412 on ${name}`);
    current.stat = { ...current.stat, metageneration: String(Number(current.stat.metageneration) + 1), labels: { ...current.stat.labels, ...labels } };
  }
  /** An unconditional write, as a competing process would make. */
  put(name: string, body: Buffer): DocStat {
    this.writes++;
    const stat = { generation: String(this.nextGeneration++), metageneration: '1', labels: {} };
    this.docs.set(name, { body, stat });
    return { ...stat, labels: {} };
  }
}

interface FakeObject {
  body: Buffer;
  generation: string;
}

export class FakeObjects implements Objects {
  readonly objects = new Map<string, FakeObject>();
  readonly signed: SignedUrlRequest[] = [];
  readonly reads: string[] = [];
  failReads: Error | undefined;
  failSigning: Error | undefined;

  put(bucket: string, name: string, body: Buffer, generation: string): void {
    this.objects.set(`${bucket}/${name}#${generation}`, { body, generation });
  }
  /** A new PUT of a name, as a bucket without versioning keeps it: the earlier generations are gone. */
  replace(bucket: string, name: string, body: Buffer, generation: string): void {
    for (const key of [...this.objects.keys()]) if (key.startsWith(`${bucket}/${name}#`)) this.objects.delete(key);
    this.put(bucket, name, body, generation);
  }
  async liveGeneration(bucket: string, name: string): Promise<string | undefined> {
    if (this.failReads) throw this.failReads;
    const gens = [...this.objects.entries()].filter(([k]) => k.startsWith(`${bucket}/${name}#`)).map(([, o]) => BigInt(o.generation));
    return gens.length ? String(gens.reduce((a, b) => (a > b ? a : b))) : undefined;
  }
  async read(bucket: string, name: string, generation: string, maxBytes: number): Promise<ObjectRead | undefined> {
    if (this.failReads) throw this.failReads;
    this.reads.push(`${bucket}/${name}#${generation}`);
    const o = this.objects.get(`${bucket}/${name}#${generation}`);
    if (!o) return undefined;
    const body = o.body.subarray(0, maxBytes + 1);
    return { body, truncated: o.body.length > maxBytes };
  }
  async signedUrl(request: SignedUrlRequest): Promise<string> {
    if (this.failSigning) throw this.failSigning;
    this.signed.push(request);
    return `https://storage.example/${request.bucket}/${request.name}?X-Goog-Signature=fake&method=${request.method}&exp=${request.expiresAt.getTime()}`;
  }
}

export class FakePublisher implements Publisher {
  readonly sent: Array<{ topic: string; message: OutgoingMessage; id: string }> = [];
  /** Errors thrown by the next publishes, in order. */
  failures: Error[] = [];

  async publish(topic: string, message: OutgoingMessage): Promise<string> {
    const failure = this.failures.shift();
    if (failure) throw failure;
    const id = String(this.sent.length + 1);
    this.sent.push({ topic, message, id });
    return id;
  }
  on(topic: string): Array<{ data: unknown; attributes: Record<string, string> }> {
    return this.sent
      .filter((s) => s.topic === topic)
      .map((s) => ({ data: JSON.parse(s.message.data.toString('utf8')) as unknown, attributes: s.message.attributes ?? {} }));
  }
}

export interface FakeWorld {
  deps: Deps;
  clock: FakeClock;
  objects: FakeObjects;
  publisher: FakePublisher;
  docs: FakeDocObjects;
  statusStore: StatusStore;
  lines: Array<Record<string, unknown>>;
}

export function fakeWorld(): FakeWorld {
  const clock = new FakeClock();
  const objects = new FakeObjects();
  const publisher = new FakePublisher();
  const docs = new FakeDocObjects();
  const statusStore = createStatusStore(docs, { sleep: async () => {} });
  const { logger, lines } = captureLogger();
  return { deps: { objects, publisher, statusStore, clock, logger }, clock, objects, publisher, docs, statusStore, lines };
}

export interface RecordedResponse extends HttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string | undefined;
  json(): Record<string, unknown>;
}

export function fakeResponse(): RecordedResponse {
  const res: RecordedResponse = {
    statusCode: 200,
    headers: {},
    body: undefined,
    status(code) {
      res.statusCode = code;
      return res;
    },
    set(field, value) {
      res.headers[field.toLowerCase()] = value;
      return res;
    },
    send(body) {
      res.body = typeof body === 'string' ? body : JSON.stringify(body);
      return res;
    },
    end() {
      return res;
    },
    json() {
      return JSON.parse(res.body ?? 'null') as Record<string, unknown>;
    },
  };
  return res;
}

export function fakeRequest(init: Partial<HttpRequest> & { headers?: Record<string, string> }): HttpRequest {
  return { method: 'GET', path: '/', socket: { remoteAddress: '10.0.0.1' }, ...init, headers: { ...(init.headers ?? {}) } };
}
