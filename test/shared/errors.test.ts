import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classify, PermanentError, RetryableError } from '../../shared/errors.js';

describe('classify', () => {
  const cases: { name: string; err: unknown; code: string; retryable: boolean }[] = [
    { name: 'permanent error keeps its code', err: new PermanentError('animated', 'x'), code: 'animated', retryable: false },
    { name: 'retryable error keeps its code', err: new RetryableError('model_not_ready', 'x'), code: 'model_not_ready', retryable: true },
    { name: 'HTTP 503 from storage', err: Object.assign(new Error('backend'), { code: 503 }), code: 'unavailable', retryable: true },
    { name: 'HTTP 429', err: Object.assign(new Error('slow down'), { code: 429 }), code: 'unavailable', retryable: true },
    { name: 'HTTP 412 precondition', err: Object.assign(new Error('pre'), { code: 412 }), code: 'conflict', retryable: true },
    // A missing original is made permanent where it is read (source.ts); elsewhere 404 is configuration.
    { name: 'HTTP 404', err: Object.assign(new Error('gone'), { code: 404 }), code: 'not_found', retryable: true },
    { name: 'HTTP 403: a lost IAM grant is retried, so it dead-letters and alerts', err: Object.assign(new Error('denied'), { code: 403 }), code: 'permission_denied', retryable: true },
    { name: 'HTTP 401', err: Object.assign(new Error('no token'), { code: 401 }), code: 'permission_denied', retryable: true },
    { name: 'HTTP 400', err: Object.assign(new Error('bad'), { code: 400 }), code: 'bad_request', retryable: false },
    { name: 'gRPC UNAVAILABLE', err: Object.assign(new Error('unavailable'), { code: 14 }), code: 'unavailable', retryable: true },
    { name: 'gRPC NOT_FOUND (a deleted topic)', err: Object.assign(new Error('no topic'), { code: 5 }), code: 'not_found', retryable: true },
    { name: 'gRPC PERMISSION_DENIED', err: Object.assign(new Error('denied'), { code: 7 }), code: 'permission_denied', retryable: true },
    { name: 'gRPC UNAUTHENTICATED', err: Object.assign(new Error('no creds'), { code: 16 }), code: 'permission_denied', retryable: true },
    { name: 'gRPC INVALID_ARGUMENT', err: Object.assign(new Error('too big'), { code: 3 }), code: 'bad_request', retryable: false },
    { name: 'connection refused', err: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), code: 'unavailable', retryable: true },
    { name: 'abort', err: Object.assign(new Error('aborted'), { name: 'AbortError' }), code: 'timeout', retryable: true },
    { name: 'unknown bug is retryable, so it reaches the dead-letter record', err: new TypeError('x is undefined'), code: 'internal', retryable: true },
    { name: 'a thrown string', err: 'boom', code: 'internal', retryable: true },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = classify(c.err);
      assert.equal(r.code, c.code);
      assert.equal(r.retryable, c.retryable);
    });
  }
});
