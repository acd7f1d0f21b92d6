import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { RateLimiter } from '../../src/core/connector.ts';
import { createRateLimiter, helpdeskLimiter } from '../../src/runtime/rate-limiter.ts';
import { HIGH, URGENT } from '../../src/runtime/classes.ts';
import { withClass } from '../../src/runtime/delivery-class.ts';
import { zendeskRateSignal } from '../../connectors/helpdesks/zendesk/http.ts';
import { freshdeskRateSignal } from '../../connectors/helpdesks/freshdesk/http.ts';
import { usedeskRateSignal } from '../../connectors/helpdesks/usedesk/http.ts';

/** Starts `n` acquisitions at once and records, per acquisition, the fake-clock ms it was let through. */
function launch(limiter: RateLimiter, n: number, endpoint?: string): number[] {
  const start = Date.now();
  const at: number[] = [];
  for (let i = 0; i < n; i++) void limiter.acquire(1, endpoint).then(() => at.push(Date.now() - start));
  return at;
}

describe('the rate limiter in front of a helpdesk', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('lets a small burst go at once, then spaces requests by 60 s / requestsPerMinute', async () => {
    const limiter = createRateLimiter({ requestsPerMinute: 120, burst: 2 }); // one every 500 ms
    const at = launch(limiter, 5);
    await vi.advanceTimersByTimeAsync(0);
    expect(at).toEqual([0, 0]);
    await vi.advanceTimersByTimeAsync(499);
    expect(at).toEqual([0, 0]);
    await vi.advanceTimersByTimeAsync(1);
    expect(at).toEqual([0, 0, 500]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(at).toEqual([0, 0, 500, 1000, 1500]);
  });

  it('holds a backlog to the rate: 1,000 requests at 6,000/min take ten seconds, never more than the rate plus the burst', async () => {
    const limiter = createRateLimiter({ requestsPerMinute: 6000 });
    const at = launch(limiter, 1000);
    await vi.advanceTimersByTimeAsync(5000);
    expect(at.length).toBeLessThanOrEqual(600 + 500 + 1);
    expect(at.length).toBeGreaterThanOrEqual(500);
    await vi.advanceTimersByTimeAsync(5000);
    expect(at).toHaveLength(1000);
    // In any one second, at most a second's worth plus the burst.
    for (let s = 0; s < 10; s++) expect(at.filter((t) => t >= s * 1000 && t < (s + 1) * 1000).length).toBeLessThanOrEqual(100 + 600);
  });

  it('an urgent delivery waiting for its turn goes before the ordinary ones waiting with it, then high, in order within each', async () => {
    const limiter = createRateLimiter({ requestsPerMinute: 600, burst: 2 }); // two at once, then one every 100 ms
    const order: string[] = [];
    const ask = (name: string, cls?: number) => {
      const go = () => limiter.acquire().then(() => order.push(name));
      void (cls === undefined ? go() : withClass(cls, go));
    };
    ask('first');
    ask('normal 1');
    ask('normal 2');
    ask('high 1', HIGH);
    ask('urgent', URGENT);
    ask('high 2', HIGH);
    await vi.advanceTimersByTimeAsync(1000);
    expect(order).toEqual(['first', 'normal 1', 'urgent', 'high 1', 'high 2', 'normal 2']);
  });

  it('a Retry-After stops every request for that long', async () => {
    const limiter = createRateLimiter({ requestsPerMinute: 6000 });
    await limiter.acquire();
    limiter.observe({ limited: true, retryAfterMs: 2000 });
    const at = launch(limiter, 3);
    await vi.advanceTimersByTimeAsync(1999);
    expect(at).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(at[0]).toBe(2000);
  });

  it('slows down to a lower limit the helpdesk reports, but never speeds past the configured one', async () => {
    const limiter = createRateLimiter({ requestsPerMinute: 600 });
    await limiter.acquire();
    limiter.observe({ limit: 60 });
    expect(limiter.requestsPerMinute).toBe(60);
    limiter.observe({ limit: 1200 });
    expect(limiter.requestsPerMinute).toBe(600);
  });

  it('without a configured rate, follows the limit the helpdesk reports, up or down', async () => {
    const limiter = createRateLimiter({ requestsPerMinute: 200, followReportedLimit: true });
    limiter.observe({ limit: 700 });
    expect(limiter.requestsPerMinute).toBe(700);
    limiter.observe({ limit: 400 });
    expect(limiter.requestsPerMinute).toBe(400);
  });

  it('when the remaining count runs out and the reset time is known, waits for the reset', async () => {
    const limiter = createRateLimiter({ requestsPerMinute: 6000 });
    await limiter.acquire();
    limiter.observe({ remaining: 0, resetMs: 5000 });
    const at = launch(limiter, 2);
    await vi.advanceTimersByTimeAsync(4999);
    expect(at).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(at).toEqual([5000, 5000]);
  });

  it('when the remaining count runs out with no reset time, probes once a second until the window resets', async () => {
    const limiter = createRateLimiter({ requestsPerMinute: 6000 });
    await limiter.acquire();
    limiter.observe({ remaining: 0 });
    const at = launch(limiter, 5);
    await vi.advanceTimersByTimeAsync(999);
    expect(at).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(at).toEqual([1000]); // one probe
    await vi.advanceTimersByTimeAsync(500);
    expect(at).toHaveLength(1); // its answer is not in yet: no second request
    limiter.observe({ remaining: 0 }); // still spent
    await vi.advanceTimersByTimeAsync(1000);
    expect(at).toHaveLength(2);
    limiter.observe({ remaining: 100 }); // the window reset
    await vi.advanceTimersByTimeAsync(50);
    expect(at).toHaveLength(5);
  });

  it('counts its own requests in flight against the remaining budget', async () => {
    const limiter = createRateLimiter({ requestsPerMinute: 60_000, burst: 100 });
    for (let i = 0; i < 3; i++) await limiter.acquire(); // three in flight
    limiter.observe({ remaining: 4 }); // the answer to the first: 4 left, 2 of them already ours
    const at = launch(limiter, 4);
    await vi.advanceTimersByTimeAsync(10);
    expect(at).toHaveLength(2);
  });

  it('an endpoint with a cap of its own is paced to it, while other requests flow at the account rate', async () => {
    const limiter = createRateLimiter({ requestsPerMinute: 600, burst: 2, endpoints: (rpm) => ({ 'tickets:create': rpm / 10 }) });
    const creates = launch(limiter, 3, 'tickets:create');
    const others = launch(limiter, 6);
    await vi.advanceTimersByTimeAsync(2000);
    expect(creates).toHaveLength(3);
    expect(creates[2]).toBe(1000); // two within the cap's burst, the third a second later
    expect(others).toHaveLength(6);
    expect(Math.max(...others)).toBeLessThan(1000); // not held up by the create cap
  });

  it('is built from the helpdesk’s documented default, or the configured rate; the dry run is not paced', () => {
    expect(helpdeskLimiter(undefined, {})).toBeUndefined();
    const byDefault = helpdeskLimiter({ requestsPerMinute: 200 }, {}) as ReturnType<typeof createRateLimiter>;
    expect(byDefault.requestsPerMinute).toBe(200);
    byDefault.observe({ limit: 700 });
    expect(byDefault.requestsPerMinute).toBe(700);
    const configured = helpdeskLimiter({ requestsPerMinute: 200 }, { requestsPerMinute: 100 }) as ReturnType<typeof createRateLimiter>;
    configured.observe({ limit: 700 });
    expect(configured.requestsPerMinute).toBe(100);
  });

  it('each helpdesk’s headers become the same signal', () => {
    const h = (o: Record<string, string>) => new Headers(o);
    expect(zendeskRateSignal(200, h({ 'x-rate-limit': '700', 'x-rate-limit-remaining': '12' }))).toEqual({ limit: 700, remaining: 12, retryAfterMs: undefined, limited: false });
    expect(freshdeskRateSignal(200, h({ 'x-ratelimit-total': '400', 'x-ratelimit-remaining': '0', 'x-ratelimit-used-currentrequest': '1' }))).toMatchObject({ limit: 400, remaining: 0, limited: false });
    expect(freshdeskRateSignal(429, h({ 'retry-after': '17' }))).toMatchObject({ limited: true, retryAfterMs: 17_000 });
    expect(usedeskRateSignal(429, h({}))).toMatchObject({ limited: true, retryAfterMs: undefined });
    // A Retry-After on an ordinary answer asks for nothing.
    expect(zendeskRateSignal(200, h({ 'retry-after': '5' })).retryAfterMs).toBeUndefined();
  });
});
