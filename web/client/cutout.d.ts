/**
 * Types of cutout.js, petcutout's browser client. The implementation is checked against the
 * same declarations (web/tsconfig.json, checkJs), so the two cannot drift apart.
 */
import type { CreateCutoutClient, CutoutErrorCode, CutoutErrorOptions, FileLike } from './types.js';

export type * from './types.js';

export declare class CutoutError extends Error {
  constructor(code: CutoutErrorCode, message: string, options?: CutoutErrorOptions);
  readonly name: 'CutoutError';
  /** What happened, for programs: `rate_limited`, `too_large`, `cors`, `rejected:corrupt`... */
  code: CutoutErrorCode;
  /** HTTP status, when an answer came. */
  status: number | undefined;
  /** The technical text (server or library), for the console, not for shoppers. */
  detail: string | undefined;
  retryable: boolean;
  retryAfterMs: number | undefined;
}

export declare const createCutoutClient: CreateCutoutClient;

/** `Retry-After` (seconds or an HTTP date) in milliseconds from `now`. */
export declare function parseRetryAfter(value: string | null, now: number): number | undefined;

/** The content type a file is declared with: the browser's, or from its extension. */
export declare function contentTypeOf(file: FileLike): string;
