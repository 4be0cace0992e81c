import { z } from 'zod';
import { BaseConfig, fields, parseConfig, type Env } from '../shared/config.js';

const MB = 1024 * 1024;
// V4 signed URLs cannot outlive 7 days (604800 s); the service refuses longer ones.
const MAX_SIGNED_URL_TTL_SECONDS = 7 * 24 * 3600;

/**
 * Everything the four functions read from the environment. Parsed once, in index.ts,
 * on the first invocation; a bad value is reported together with every other bad value.
 */
export const FunctionsConfig = BaseConfig.extend({
  /** Largest accepted upload; also bounds the signed URL's content-length range. */
  MAX_UPLOAD_BYTES: fields.int(1, 1024 * MB).default(50 * MB),
  /** Lifetime of the upload URL (15 min by default, at most 7 days). */
  SIGNED_URL_TTL_SECONDS: fields.int(1, MAX_SIGNED_URL_TTL_SECONDS).default(15 * 60),
  /** Lifetime of the result download URLs getStatus hands out. */
  DOWNLOAD_URL_TTL_SECONDS: fields.int(60, MAX_SIGNED_URL_TTL_SECONDS).default(15 * 60),
  /** Browser origins allowed by CORS, comma separated; `*` allows any (not for production). */
  ALLOWED_ORIGINS: fields.list().default([]),
  /** Token bucket per client and per instance: sustained rate and burst size. */
  RATE_LIMIT_PER_MINUTE: fields.int(1, 100_000).default(30),
  RATE_LIMIT_BURST: fields.int(1, 100_000).default(10),
  /** Image geometry limits checked from the header before any decode. */
  MIN_SIDE_PX: fields.int(1, 10_000).default(64),
  MAX_SIDE_PX: fields.int(16, 100_000).default(16_384),
  /** Decompression-bomb guard; 12 MP phone photos pass with room to spare. */
  MAX_PIXELS: fields.int(1, 1_000_000_000).default(50_000_000),
  /**
   * Prefix for the ticket's status URL, e.g. `https://api.example.com`. Unset: the origin the
   * request came in on (Host, X-Forwarded-Proto), right where one origin serves both
   * `/uploads` and `/jobs/{id}`; set it wherever getStatus lives elsewhere (the gateway).
   */
  PUBLIC_BASE_URL: z.url().optional(),
  /**
   * Proxies we trust to append to X-Forwarded-For: the rate limit keys on the entry that many
   * places from the right. 1 = Google's front end (Cloud Run / Functions, API Gateway's calls).
   */
  TRUSTED_PROXY_HOPS: fields.int(1, 10).default(1),
}).refine((c) => c.MIN_SIDE_PX <= c.MAX_SIDE_PX, { error: 'MIN_SIDE_PX must not exceed MAX_SIDE_PX', path: ['MIN_SIDE_PX'] });
export type FunctionsConfig = z.infer<typeof FunctionsConfig>;

/**
 * Parse the functions' configuration; throws ConfigError listing every problem.
 * @example loadFunctionsConfig({ GOOGLE_CLOUD_PROJECT: 'p-local', UPLOADS_BUCKET: 'u', RESULTS_BUCKET: 'r' })
 */
export function loadFunctionsConfig(env: Env): FunctionsConfig {
  return parseConfig(FunctionsConfig, env);
}
