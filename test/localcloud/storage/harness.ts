// Test setup shared by the storage conformance tests: an emulator on a free port with a
// fresh data directory, a throwaway service-account key it trusts, and the OFFICIAL client.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before } from 'node:test';
import { Storage } from '@google-cloud/storage';
import { createServiceAccountKey, startStorageEmulator, type ServiceAccountKey, type StorageEmulator, type StorageEmulatorOptions } from './index.js';

export const PROJECT_ID = 'localcloud-test';
export const BUCKET = 'uploads';
export const BROWSER_ORIGIN = 'http://app.localhost:5173';

// The official clients must not probe the GCE metadata server in local mode.
process.env['METADATA_SERVER_DETECTION'] = 'none';
process.env['GOOGLE_CLOUD_PROJECT'] ??= PROJECT_ID;

export interface Harness {
  emu: StorageEmulator;
  storage: Storage;
  key: ServiceAccountKey;
  dataDir: string;
  close(): Promise<void>;
}

export async function startHarness(extra: Partial<StorageEmulatorOptions> = {}): Promise<Harness> {
  const dataDir = await mkdtemp(join(tmpdir(), 'localcloud-storage-'));
  const key = createServiceAccountKey(PROJECT_ID, { dir: dataDir });
  const emu = await startStorageEmulator({
    dataDir: join(dataDir, 'data'),
    projectId: PROJECT_ID,
    trustedKeys: [{ clientEmail: key.clientEmail, publicKeyPem: key.publicKeyPem }],
    buckets: [
      {
        name: BUCKET,
        cors: [{ origin: [BROWSER_ORIGIN], method: ['PUT', 'GET'], responseHeader: ['Content-Type', 'x-goog-generation'], maxAgeSeconds: 600 }],
      },
    ],
    ...extra,
  });
  const storage = new Storage({ apiEndpoint: emu.url, projectId: PROJECT_ID, keyFilename: key.keyFilename });
  return {
    emu,
    storage,
    key,
    dataDir,
    async close() {
      await emu.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * Starts a harness in the enclosing describe's `before` and closes it in its `after`, so each
 * suite does not repeat that setup. The returned object reads through to the started harness;
 * touching it outside a test (before the hook ran) throws instead of handing out undefined.
 */
export function useHarness(extra: Partial<StorageEmulatorOptions> = {}): Harness {
  let started: Harness | undefined;
  before(async () => {
    started = await startHarness(extra);
  });
  after(async () => {
    await started?.close();
  });
  const current = (): Harness => {
    if (!started) throw new Error('storage harness used before its before() hook ran');
    return started;
  };
  return {
    get emu() {
      return current().emu;
    },
    get storage() {
      return current().storage;
    },
    get key() {
      return current().key;
    },
    get dataDir() {
      return current().dataDir;
    },
    close: () => current().close(),
  };
}

/** Deterministic pseudo-random bytes (so failures reproduce) of `size` bytes. */
export function testBytes(size: number, seed = 1): Buffer {
  const buf = Buffer.alloc(size);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    buf[i] = x & 0xff;
  }
  return buf;
}

/** HTTP status of a client error: ApiError carries `code`, a resumable-upload GaxiosError `status`. */
export function statusOf(err: unknown): number | undefined {
  const e = err as { code?: unknown; status?: unknown; response?: { status?: number } };
  if (typeof e.code === 'number') return e.code;
  if (typeof e.status === 'number') return e.status;
  return e.response?.status;
}
