// Throwaway service-account keys for local signed URLs: the official client signs V4 URLs
// locally with `private_key`; the emulator trusts the public half by `client_email`.
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface ServiceAccountKeyJson {
  type: 'service_account';
  project_id: string;
  private_key_id: string;
  private_key: string;
  client_email: string;
  client_id: string;
  auth_uri: string;
  token_uri: string;
}

export interface ServiceAccountKey {
  /** Path of the JSON key file, for `new Storage({ keyFilename })` or GOOGLE_APPLICATION_CREDENTIALS. */
  keyFilename: string;
  key: ServiceAccountKeyJson;
  clientEmail: string;
  /** SPKI PEM; pass `{ clientEmail, publicKeyPem }` to `startStorageEmulator({ trustedKeys })`. */
  publicKeyPem: string;
}

export interface ServiceAccountKeyOptions {
  /** Directory for the key file; default: a fresh temp directory. */
  dir?: string;
  /** Account id (the part before `@`); default `localcloud`. */
  accountId?: string;
}

/**
 * Generates an RSA-2048 key pair and writes a service-account JSON key file.
 * @example
 * const sa = createServiceAccountKey('demo-project');
 * const storage = new Storage({ keyFilename: sa.keyFilename, apiEndpoint: emu.url, projectId: 'demo-project' });
 */
export function createServiceAccountKey(projectId: string, options: ServiceAccountKeyOptions = {}): ServiceAccountKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    // google-auth-library expects PKCS#8 ("BEGIN PRIVATE KEY"), as in real key files.
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const clientEmail = `${options.accountId ?? 'localcloud'}@${projectId}.iam.gserviceaccount.com`;
  const key: ServiceAccountKeyJson = {
    type: 'service_account',
    project_id: projectId,
    private_key_id: randomBytes(20).toString('hex'),
    private_key: privateKey,
    client_email: clientEmail,
    client_id: String(BigInt('0x' + randomBytes(8).toString('hex'))),
    auth_uri: 'https://accounts.google.com/o/oauth2/auth',
    token_uri: 'https://oauth2.googleapis.com/token',
  };
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'localcloud-sa-'));
  const keyFilename = join(dir, `${projectId}-${options.accountId ?? 'localcloud'}.json`);
  writeFileSync(keyFilename, JSON.stringify(key, null, 2), { mode: 0o600 });
  return { keyFilename, key, clientEmail, publicKeyPem: publicKey };
}
