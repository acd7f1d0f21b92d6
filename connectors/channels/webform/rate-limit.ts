/**
 * Per-key token bucket kept in this process: `burst` submissions at once, refilled at
 * `perMinute`. Several gateway processes each count on their own.
 */

export type TakeResult = { ok: true } | { ok: false; retryAfterSec: number };

interface Bucket {
  tokens: number;
  at: number;
}

/** Above this many tracked keys, buckets that have refilled completely are forgotten. */
const SWEEP_ABOVE = 10_000;

export class TokenBucket {
  readonly #capacity: number;
  readonly #perMs: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(perMinute: number, burst: number = perMinute, now: () => number = Date.now) {
    this.#capacity = burst;
    this.#perMs = perMinute / 60_000;
    this.#now = now;
  }

  take(key: string): TakeResult {
    const now = this.#now();
    if (this.#buckets.size > SWEEP_ABOVE) this.#sweep(now);
    const bucket = this.#buckets.get(key) ?? { tokens: this.#capacity, at: now };
    bucket.tokens = this.#level(bucket, now);
    bucket.at = now;
    this.#buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSec: Math.max(1, Math.ceil((1 - bucket.tokens) / this.#perMs / 1000)) };
  }

  #level(bucket: Bucket, now: number): number {
    return Math.min(this.#capacity, bucket.tokens + (now - bucket.at) * this.#perMs);
  }

  #sweep(now: number): void {
    for (const [key, bucket] of this.#buckets) {
      if (this.#level(bucket, now) >= this.#capacity) this.#buckets.delete(key);
    }
  }
}
