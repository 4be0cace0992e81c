import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { clientKey } from '../../functions/http.js';
import { TokenBucketLimiter } from '../../functions/rate-limit.js';
import { fakeRequest } from './fakes.js';

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

describe('clientKey', () => {
  const key = (xff: string | string[] | undefined, hops?: number) => {
    const req = fakeRequest({ socket: { remoteAddress: '10.9.8.7' } });
    if (xff !== undefined) req.headers['x-forwarded-for'] = xff;
    return clientKey(req, hops);
  };
  it('is the right-most X-Forwarded-For entry (the one the front end appended), never the client-supplied left part', () => {
    assert.equal(key('203.0.113.9'), '203.0.113.9');
    assert.equal(key('1.2.3.4, 203.0.113.9'), '203.0.113.9');
    assert.equal(key('evil, 1.2.3.4,203.0.113.9 '), '203.0.113.9');
    assert.equal(key(['1.2.3.4', '203.0.113.9']), '203.0.113.9', 'several header lines are one list');
  });
  it('with 2 trusted hops (a load balancer that appends its own address), the second from the right', () => {
    assert.equal(key('1.2.3.4, 203.0.113.9, 130.211.0.1', 2), '203.0.113.9');
    assert.equal(key('203.0.113.9', 2), '203.0.113.9');
  });
  it('falls back to the socket peer without the header', () => {
    assert.equal(key(undefined), '10.9.8.7');
    assert.equal(key(' , '), '10.9.8.7');
  });
});
