/**
 * A token bucket per client key, held in this instance's memory: with N instances a
 * client may get up to N times the configured rate. It keeps one browser from minting
 * thousands of upload URLs; it is not a quota.
 */
export interface RateLimitSettings {
  perMinute: number;
  burst: number;
  /** Bounds memory under a flood of distinct keys; the least recently seen are dropped. */
  maxKeys?: number;
}

export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  updatedMs: number;
}

const DEFAULT_MAX_KEYS = 10_000;

export class TokenBucketLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly refillPerMs: number;
  private readonly maxKeys: number;

  constructor(
    private readonly settings: RateLimitSettings,
    private readonly nowMs: () => number = () => Date.now(),
  ) {
    this.refillPerMs = settings.perMinute / 60_000;
    this.maxKeys = settings.maxKeys ?? DEFAULT_MAX_KEYS;
  }

  /** Take one token for `key`, or say how long until one is available. */
  take(key: string): RateDecision {
    const now = this.nowMs();
    const previous = this.buckets.get(key);
    const tokens = previous ? Math.min(this.settings.burst, previous.tokens + (now - previous.updatedMs) * this.refillPerMs) : this.settings.burst;
    // Re-insert so Map order tracks recency for eviction.
    this.buckets.delete(key);
    if (tokens < 1) {
      this.buckets.set(key, { tokens, updatedMs: now });
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - tokens) / this.refillPerMs / 1000)) };
    }
    this.buckets.set(key, { tokens: tokens - 1, updatedMs: now });
    if (this.buckets.size > this.maxKeys) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
    return { allowed: true };
  }
}
