/**
 * The browser client's public types. The wire shapes come from schemas/ (type-only: no zod at
 * run time); the rest is written structurally, without the DOM library, so that Node code and
 * tests can import these declarations too.
 */
import type { OutputKind } from '../../schemas/common.js';
import type { JobState, StatusResponse } from '../../schemas/status.js';
import type { UploadLimits, UploadTicket } from '../../schemas/upload.js';

export type { JobState, OutputKind, StatusResponse, UploadLimits, UploadTicket };

/**
 * Every code a CutoutError can carry. `rejected:<code>` and `failed:<code>` carry the job's
 * own error code (e.g. `rejected:corrupt`); other server codes pass through as they are.
 */
export type CutoutErrorCode =
  | 'rate_limited'
  | 'too_large'
  | 'unsupported_type'
  | 'network'
  | 'cors'
  | 'timeout'
  | 'aborted'
  | 'unavailable'
  | 'upload_failed'
  | 'upload_expired'
  | 'not_found'
  | 'bad_response'
  | `rejected:${string}`
  | `failed:${string}`
  | (string & {});

/** The job's quality verdict, when the status carries one (issue 16). */
export interface Quality {
  score: number;
  flags: string[];
}

/** A status as the client hands it over: the server's answer, with `quality` where present. */
export type JobStatus = StatusResponse & { quality?: Quality };

/** What a File (or Blob) offers that the client uses. */
export interface FileLike {
  readonly size: number;
  readonly type: string;
  readonly name?: string;
}

export interface UploadProgress {
  /** Bytes sent so far and the total (the file's size). */
  loaded: number;
  total: number;
  /** loaded / total, 0..1. */
  fraction: number;
}

export interface UploadOptions {
  /** What to produce; default all the server offers. */
  outputs?: OutputKind[];
  /** The shop's reference (an order line, a SKU), echoed in the status; at most 128 characters. */
  clientRef?: string;
  /** Aborting cancels the request in flight and rejects with code `aborted`. */
  signal?: AbortSignal;
  /** Upload progress, from XMLHttpRequest upload events. */
  onProgress?: (progress: UploadProgress) => void;
}

export interface Preview {
  /** A short-lived signed URL, readable cross-origin (fetch it with fetchOutput). */
  url: string;
  status: JobStatus;
}

export interface ResultOptions {
  /** Every status that differs from the last one (state, outputs, quality...). */
  onStatus?: (status: JobStatus) => void;
  /** Once, as soon as a status carries the preview's URL, before the job ends where the pipeline allows it. */
  onPreview?: (preview: Preview) => void;
  signal?: AbortSignal;
}

export interface CutoutResult {
  jobId: string;
  status: JobStatus;
  /** Signed download URL per output kind produced. */
  downloads: Partial<Record<OutputKind, string>>;
  quality?: Quality;
}

export interface CutoutJob {
  readonly jobId: string;
  /** Absolute URL of the job's status. */
  readonly statusUrl: string;
  /** Polls until the job is terminal: resolves on success, rejects with a CutoutError otherwise. */
  result(options?: ResultOptions): Promise<CutoutResult>;
}

/** The XMLHttpRequest surface the client uses (the browser's, or a fake in tests). */
export interface XhrLike {
  status: number;
  responseText: string;
  readonly upload: { onprogress: ((event: { loaded: number; total: number; lengthComputable: boolean }) => void) | null };
  onload: (() => void) | null;
  onerror: (() => void) | null;
  onabort: (() => void) | null;
  ontimeout: (() => void) | null;
  open(method: string, url: string): void;
  setRequestHeader(name: string, value: string): void;
  getResponseHeader(name: string): string | null;
  send(body: unknown): void;
  abort(): void;
}

export interface ClientConfig {
  /** createUpload's base URL: the client POSTs to `uploads` under it and reads the limits there. */
  createUploadUrl: string;
  /** getStatus's base URL (`jobs/{jobId}` under it), used when a ticket's statusUrl is relative. */
  getStatusUrl: string;
  /** Time limits in milliseconds. */
  timeouts?: {
    /** One API request (limits, ticket, one poll, one download). Default 20 000. */
    requestMs?: number;
    /** An upload that sends nothing for this long is given up. Default 30 000. */
    uploadStallMs?: number;
    /** A job not terminal after this long is given up. Default 600 000. */
    jobMs?: number;
    /** A job whose status does not appear after the upload within this long. Default 60 000. */
    statusAppearMs?: number;
  };
  /** Polling intervals: start, growth per unchanged answer, cap. Default 400 ms, x1.5, 4 000 ms. */
  poll?: { initialMs?: number; factor?: number; maxMs?: number };
  /** Injected for tests; default the globals. */
  fetch?: (input: string, init?: Record<string, unknown>) => Promise<ResponseLike>;
  XMLHttpRequest?: new () => XhrLike;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  now?: () => number;
}

/** The part of a fetch Response the client reads. */
export interface ResponseLike {
  readonly status: number;
  readonly ok: boolean;
  readonly headers: { get(name: string): string | null };
  json(): Promise<unknown>;
  text(): Promise<string>;
  blob(): Promise<unknown>;
}

export interface CutoutClient {
  /** The server's upload limits (`GET uploads`), fetched once. */
  limits(options?: { signal?: AbortSignal }): Promise<UploadLimits>;
  /** Throws a CutoutError (`unsupported_type`, `too_large`) when the file breaks the limits. */
  checkFile(file: FileLike, limits: UploadLimits): void;
  /** Checks the file, asks for a ticket, PUTs the file with the ticket's headers. */
  upload(file: FileLike, options?: UploadOptions): Promise<CutoutJob>;
  /** An output's bytes, fetched in CORS mode (a Blob in a browser). */
  fetchOutput(url: string, options?: { signal?: AbortSignal }): Promise<unknown>;
}

export type CreateCutoutClient = (config: ClientConfig) => CutoutClient;

export interface CutoutErrorOptions {
  /** HTTP status, when an answer came. */
  status?: number;
  /** What operators need (the server's or the library's own text); not for shoppers. */
  detail?: string;
  /** Whether trying again later may work. */
  retryable?: boolean;
  /** The server's Retry-After, in milliseconds. */
  retryAfterMs?: number;
  cause?: unknown;
}
