import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TokenBucketLimiter } from '../../functions/rate-limit.js';

describe('TokenBucketLimiter', () => {
  it('allows the burst, then one token per refill interval', () => {
    let now = 0;
    const limiter = new TokenBucketLimiter({ perMinute: 6, burst: 2 }, () => now);
    assert.deepEqual([limiter.take('a'), limiter.take('a')], [{ allowed: true }, { allowed: true }]);
    assert.deepEqual(limiter.take('a'), { allowed: false, retryAfterSeconds: 10 });
    now += 5_000;
    assert.deepEqual(limiter.take('a'), { allowed: false, retryAfterSeconds: 5 });
    now += 5_000;
    assert.deepEqual(limiter.take('a'), { allowed: true });
  });
  it('forgets the least recently seen clients beyond maxKeys', () => {
    const limiter = new TokenBucketLimiter({ perMinute: 1, burst: 1, maxKeys: 2 }, () => 0);
    limiter.take('a');
    limiter.take('b');
    limiter.take('c');
    assert.deepEqual(limiter.take('a'), { allowed: true }, 'a was evicted, so it starts with a full bucket');
    assert.equal(limiter.take('c').allowed, false);
  });
});
