import { Worker, type MessagePort } from 'node:worker_threads';
import { PipelineError, RetryableError, classify, type ErrorCode } from '../../shared/errors.js';
import type { OutputKind } from '../../schemas/common.js';
import type { ImagePipeline, ModelDescriptor, ProcessResult, RenderedOutput } from '../pipeline/contract.js';

/**
 * The image pipeline on a thread of its own. onnxruntime-node runs a session (and creates
 * one) synchronously on the calling thread: on the main thread one ISNet inference on CPU
 * stops the event loop for seconds, so /healthz and /readyz go unanswered, Pub/Sub leases
 * are not extended and every other job's download, upload and publish waits. Here the main
 * thread keeps serving while the pipeline thread decodes, infers and encodes; batching is
 * unchanged because every job still goes through the one pipeline.
 *
 * Errors cross as their classification (code, retryable, message), so `classify` answers
 * the same on both sides. A preview crosses as a message of its own, ahead of the call's
 * reply, so the service's `onPreview` hears of it while the full-size outputs are encoded.
 */

interface WireError {
  code: ErrorCode;
  retryable: boolean;
  message: string;
}

type CallBody = { op: 'process'; jobId: string; bytes: Uint8Array; outputs: readonly OutputKind[]; wantsPreview: boolean } | { op: 'warmup' } | { op: 'close' };
type Call = CallBody & { id: number };

type Reply = { id: number; ok: true; result?: ProcessResult } | { id: number; ok: false; error: WireError };

type Hello = { type: 'ready'; model: ModelDescriptor } | { type: 'failed'; error: WireError };

/** Sent by the thread before the reply of the process call `id`: its preview, ready early. */
type PreviewNote = { type: 'preview'; id: number; output: RenderedOutput };

const toWire = (err: unknown): WireError => {
  const c = classify(err);
  return { code: c.code, retryable: c.retryable, message: c.message };
};
const fromWire = (e: WireError): PipelineError => new PipelineError(e.code, e.message, e.retryable);

/** Structured clone hands Buffers over as plain Uint8Arrays; the service wants Buffers back. */
const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

export interface PipelineThreadOptions {
  /** The module the thread runs: gpu-worker/pipeline-thread-entry.ts (or its bundle) in production. */
  entry: URL;
  /** Handed to the thread as `workerData.config`. */
  config: unknown;
  /** The thread died (a native crash, an out-of-memory): the process should restart. */
  onCrash: (err: Error) => void;
}

/** Starts the thread and resolves once its pipeline is loaded (rejects as the load failed). */
export function startPipelineThread(options: PipelineThreadOptions): Promise<ImagePipeline> {
  const worker = new Worker(threadEntry(options.entry), { workerData: { config: options.config } });
  const pending = new Map<number, { resolve: (r: Reply) => void; onPreview?: ((preview: RenderedOutput) => void) | undefined }>();
  let nextId = 1;
  let gone: Error | undefined;
  let closing = false;

  const call = (msg: CallBody, onPreview?: (preview: RenderedOutput) => void): Promise<Reply> => {
    if (gone) return Promise.reject(new RetryableError('model_not_ready', `the pipeline thread is gone: ${gone.message}`));
    const id = nextId++;
    return new Promise((resolve) => {
      pending.set(id, { resolve, onPreview });
      worker.postMessage({ ...msg, id } satisfies Call);
    });
  };
  const failAll = (err: Error): void => {
    gone ??= err;
    for (const [id, p] of pending) p.resolve({ id, ok: false, error: { code: 'internal', retryable: true, message: err.message } });
    pending.clear();
  };

  return new Promise((resolve, reject) => {
    let loaded = false;
    worker.on('message', (m: Hello | PreviewNote | Reply) => {
      if ('type' in m && m.type === 'preview') {
        pending.get(m.id)?.onPreview?.({ ...m.output, data: asBuffer(m.output.data) });
        return;
      }
      if ('type' in m) {
        if (m.type === 'failed') {
          void worker.terminate();
          reject(fromWire(m.error));
          return;
        }
        loaded = true;
        resolve(proxy(m.model));
        return;
      }
      const p = pending.get(m.id);
      pending.delete(m.id);
      p?.resolve(m);
    });
    worker.on('error', (err) => {
      failAll(err);
      if (!loaded) reject(err);
      else options.onCrash(err);
    });
    worker.on('exit', (code) => {
      const err = new Error(`pipeline thread exited with code ${code}`);
      failAll(err);
      if (!loaded) reject(err);
      else if (!closing) options.onCrash(err);
    });
  });

  function proxy(model: ModelDescriptor): ImagePipeline {
    const settle = async (reply: Promise<Reply>): Promise<Reply & { ok: true }> => {
      const r = await reply;
      if (!r.ok) throw fromWire(r.error);
      return r;
    };
    return {
      model,
      async process(request) {
        const { result } = await settle(call({ op: 'process', jobId: request.jobId, bytes: request.bytes, outputs: request.outputs, wantsPreview: request.onPreview !== undefined }, request.onPreview));
        if (!result) throw new RetryableError('internal', `job ${request.jobId}: the pipeline thread answered without a result`);
        return { ...result, outputs: result.outputs.map((o) => ({ ...o, data: asBuffer(o.data) })) };
      },
      async warmup() {
        await settle(call({ op: 'warmup' }));
      },
      async close() {
        if (closing) return;
        closing = true;
        if (!gone) await settle(call({ op: 'close' })).catch(() => undefined);
        await worker.terminate();
      },
    };
  }
}

/**
 * The thread's side: loads the pipeline, says hello, then answers calls until closed.
 * @example hostPipeline(parentPort, () => createImagePipeline(options, { storage, logger }))
 */
export async function hostPipeline(port: MessagePort, create: () => Promise<ImagePipeline>): Promise<void> {
  let pipeline: ImagePipeline;
  try {
    pipeline = await create();
  } catch (err) {
    port.postMessage({ type: 'failed', error: toWire(err) } satisfies Hello);
    return;
  }
  port.postMessage({ type: 'ready', model: { ...pipeline.model } } satisfies Hello);
  port.on('message', (call: Call) => {
    // Copied, not transferred: the same bytes are in the reply's outputs too.
    const onPreview = call.op === 'process' && call.wantsPreview ? (output: RenderedOutput): void => port.postMessage({ type: 'preview', id: call.id, output } satisfies PreviewNote) : undefined;
    void answer(pipeline, call, onPreview).then((reply) => {
      // Outputs are fresh buffers made for this reply: hand their memory over instead of copying.
      const transfer = reply.ok && reply.result ? [...new Set(reply.result.outputs.filter((o) => ownsMemory(o.data)).map((o) => o.data.buffer as ArrayBuffer))] : [];
      port.postMessage(reply, transfer);
      if (call.op === 'close') port.close();
    });
  });
}

async function answer(pipeline: ImagePipeline, call: Call, onPreview?: (preview: RenderedOutput) => void): Promise<Reply> {
  try {
    if (call.op === 'warmup') await pipeline.warmup();
    else if (call.op === 'close') await pipeline.close();
    else return { id: call.id, ok: true, result: await pipeline.process({ jobId: call.jobId, bytes: asBuffer(call.bytes), outputs: call.outputs, ...(onPreview ? { onPreview } : {}) }) };
    return { id: call.id, ok: true };
  } catch (err) {
    return { id: call.id, ok: false, error: toWire(err) };
  }
}

/**
 * A bundled entry (`.js`) runs as it is. From TypeScript sources (tests, the demo,
 * `npx tsx gpu-worker/main.ts`) a thread does not inherit tsx's `--import` hooks on Node 20,
 * so a two-line module registers them in the thread first.
 */
function threadEntry(entry: URL): URL {
  if (!entry.pathname.endsWith('.ts')) return entry;
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `const { register } = await import(${JSON.stringify(tsx)}); register(); await import(${JSON.stringify(entry.href)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}

/** Only a buffer that spans its whole ArrayBuffer can be transferred (pooled slices cannot). */
function ownsMemory(b: Uint8Array): boolean {
  return b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer;
}
