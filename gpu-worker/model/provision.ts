import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { assertChecksum, sha256File } from './checksum.js';

/** The few calls of @google-cloud/storage's `Storage` that provisioning uses (a fake fits in tests). */
export interface StorageLike {
  bucket(name: string): { file(name: string): { download(options: { destination: string }): Promise<unknown> } };
}

export interface ProvisionOptions {
  /** A local path or `gs://bucket/object`. */
  uri: string;
  /** Expected sha256 (hex). Required for gs:// (it names the cache entry). */
  sha256?: string;
  cacheDir: string;
  /** The injected Storage client; only needed for gs:// URIs. */
  storage?: StorageLike;
}

export interface ProvisionedModel {
  path: string;
  sha256: string;
  /** True when the file came from the cache (or is a local path), false when downloaded now. */
  cached: boolean;
}

/**
 * Split a `gs://bucket/object` URI.
 * @example parseGsUri('gs://models/isnet/v1.onnx') // { bucket: 'models', object: 'isnet/v1.onnx' }
 */
export function parseGsUri(uri: string): { bucket: string; object: string } | undefined {
  const m = /^gs:\/\/([^/]+)\/(.+)$/.exec(uri);
  return m && m[1] && m[2] ? { bucket: m[1], object: m[2] } : undefined;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    (s) => s.isFile(),
    () => false,
  );
}

/**
 * Make a verified local copy of a model: a local path is hashed in place; a gs:// object
 * is downloaded once into `cacheDir/sha256-<digest>.onnx` (via a temp name and an atomic
 * rename, so a crash never leaves a half file that looks cached) and re-verified on every
 * start. A digest mismatch is a startup error naming expected and actual.
 * @example await provisionModel({ uri: 'gs://models/net.onnx', sha256, cacheDir: '.cache/models', storage: new Storage() })
 */
export async function provisionModel(options: ProvisionOptions): Promise<ProvisionedModel> {
  const gs = parseGsUri(options.uri);
  if (!gs) {
    if (!(await exists(options.uri))) throw new Error(`model file not found: ${options.uri}`);
    const actual = await sha256File(options.uri);
    if (options.sha256) assertChecksum(options.uri, options.sha256, actual);
    return { path: options.uri, sha256: actual, cached: true };
  }
  if (!options.sha256) throw new Error(`MODEL_SHA256 is required for ${options.uri}: a downloaded model is only used once verified`);
  if (!options.storage) throw new Error(`a Storage client is needed to download ${options.uri}`);
  const expected = options.sha256.toLowerCase();
  const target = join(options.cacheDir, `sha256-${expected}.onnx`);
  if (await exists(target)) {
    const actual = await sha256File(target);
    if (actual === expected) return { path: target, sha256: actual, cached: true };
    // A corrupt cache entry is not the model's fault: drop it and download again.
    await rm(target, { force: true });
  }
  await mkdir(options.cacheDir, { recursive: true });
  const temp = `${target}.${randomBytes(6).toString('hex')}.part`;
  try {
    await options.storage.bucket(gs.bucket).file(gs.object).download({ destination: temp });
    const actual = await sha256File(temp);
    assertChecksum(options.uri, expected, actual);
    await rename(temp, target);
    return { path: target, sha256: actual, cached: false };
  } finally {
    await rm(temp, { force: true });
  }
}
