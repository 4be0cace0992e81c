// Public surface of the Cloud Storage emulator, used by test/localcloud and the tests.
export { startStorageEmulator } from './server.js';
export type { BucketSpec, NotificationSpec, StorageEmulator, StorageEmulatorOptions, TrustedKey } from './server.js';
export { createServiceAccountKey } from './service-account.js';
export type { ServiceAccountKey, ServiceAccountKeyJson, ServiceAccountKeyOptions } from './service-account.js';
export type { CorsRule } from './types.js';
export type { PubSubTarget } from './notifications.js';
export { crc32cBase64 } from './crc32c.js';
