import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import pino from 'pino';
import { DEFAULT_RETENTION } from '../../src/core/retention.ts';
import { createRedisRuntime } from '../../src/runtime/redis/index.ts';
import { redisKv } from '../../src/runtime/redis/kv.ts';
import { createSharedRateLimiter } from '../../src/runtime/redis/rate-limiter.ts';
import type { RateLimiterOptions } from '../../src/runtime/rate-limiter.ts';
import { URGENT } from '../../src/runtime/classes.ts';
import { withClass } from '../../src/runtime/delivery-class.ts';
import { redisAvailableOrExplain, startRedis, type RedisServer } from '../fakes/redis-server.ts';
import { waitFor } from '../fixtures/wait.ts';
import { note, runtimeConformance } from './conformance.ts';

/** The same conformance suite as the embedded store, against a real redis-server (AOF on). */

const available = redisAvailableOrExplain('the Redis runtime conformance suite');

describe.runIf(available)('Redis runtime', () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    await server?.close();
  });

  runtimeConformance('redis (ioredis, Lua)', {
    sharedState: true,
    async open(name, opts) {
      return createRedisRuntime({
        url: server.url,
        prefix: `conf-${name}`,
        concurrency: opts?.concurrency ?? 4,
        retry: { maxAttempts: opts?.maxAttempts ?? 10, baseDelayMs: 40, maxDelayMs: 2000 },
        batchSettleMs: 150,
        lockDurationMs: 2000,
        floodLimit: opts?.floodLimit,
        retention: opts?.retention,
        log: pino({ level: 'silent' }),
      });
    },
    async cleanup() {
      const r = new Redis(server.url);
      await r.flushall();
      r.disconnect();
    },
  });

  it('jobs classified before the per-class counts existed (an upgrade) leave without taking them below zero', async () => {
    const redis = new Redis(server.url);
    const rt = createRedisRuntime({
      url: server.url, prefix: 'upgrade', concurrency: 2, retry: { maxAttempts: 3, baseDelayMs: 40, maxDelayMs: 200 },
      batchSettleMs: 150, lockDurationMs: 2000, log: pino({ level: 'silent' }),
    });
    try {
      const ids = (await rt.enqueue([note('a', 'urgent:a1'), note('b', 'urgent:b1')])).map((o) => o.id);
      // As an older build left them: classified urgent, with no per-class counts kept.
      for (const id of ids) await redis.hset(`upgrade:job:${id}`, 'cls', URGENT);
      expect(await redis.exists('upgrade:classified')).toBe(0);
      rt.startWorker({ run: async () => {}, onGiveUp: () => [] });
      await waitFor('the queue drained', async () => (await rt.stats()).queued === 0);
      expect(await redis.hget('upgrade:classified', 'c0')).toBe('0');
      expect((await rt.stats()).queuedByClass).toEqual({ urgent: 0, high: 0, normal: 0, throttled: 0, unclassified: 0 });
    } finally {
      await rt.close(1000);
      redis.disconnect();
    }
  });

  it('a job handed out to be classified says whether its conversation has a link without carrying it; a job taken carries the link', async () => {
    const rt = createRedisRuntime({
      url: server.url, prefix: 'linked', concurrency: 1, retry: { maxAttempts: 3, baseDelayMs: 40, maxDelayMs: 200 },
      batchSettleMs: 150, lockDurationMs: 2000, log: pino({ level: 'silent' }),
    });
    try {
      const link = { conversationKey: 'telegram:known', channelId: 'telegram', ticketId: '7', requesterId: '5', conversation: { channelId: 'telegram', externalId: 'known', sender: { externalId: 'known' } }, createdAt: 1, firedRules: [] };
      await rt.links.put(link);
      // Three lanes for one slot: a queue to order, so they are classified first.
      await rt.enqueue([
        { ...note('known', 'follow-up'), conversation: 'telegram:known' },
        { ...note('new', 'first'), conversation: 'telegram:new' },
        note('other', 'no conversation'),
      ]);
      const classified = new Map<string, unknown>();
      const taken = new Map<string, unknown>();
      rt.startWorker({
        classify: async (job) => void classified.set(job.lane, { link: job.link, linked: job.linked }),
        run: async (jobs) => void taken.set(jobs[0]!.lane, jobs[0]!.link),
        onGiveUp: () => [],
      });
      await waitFor('every job delivered', () => taken.size === 3);
      expect(Object.fromEntries(classified)).toEqual({
        known: { link: undefined, linked: true },
        new: { link: null, linked: undefined },
        other: { link: undefined, linked: undefined },
      });
      expect(taken.get('known')).toEqual(link);
      expect(taken.get('new')).toBeNull();
    } finally {
      await rt.close(1000);
    }
  });

  it('a worker with many slots takes a few lanes ahead; stopping, it hands them back as never started: another delivers every job once', async () => {
    const redis = new Redis(server.url);
    const open = (concurrency: number) => createRedisRuntime({
      url: server.url, prefix: 'ahead', concurrency, retry: { maxAttempts: 3, baseDelayMs: 40, maxDelayMs: 200 },
      batchSettleMs: 150, lockDurationMs: 2000, log: pino({ level: 'silent' }),
    });
    const a = open(8);
    const b = open(8);
    try {
      await a.enqueue(Array.from({ length: 12 }, (_, i) => note(`l${i}`, `m${i}`)));
      const startedByA: string[] = [];
      a.startWorker({ run: async (jobs) => { startedByA.push(jobs[0]!.lane); await new Promise<void>(() => {}); }, onGiveUp: () => [] });
      await waitFor('8 deliveries under way', () => startedByA.length === 8);
      // 8 slots delivering and 2 lanes (8 / 4) locked to the worker, waiting for a slot.
      await waitFor('the lanes taken ahead', async () => (await redis.zcard('ahead:running')) === 10);
      expect(startedByA.length).toBe(8);

      const runs: { lane: string; reconcile: boolean }[] = [];
      b.startWorker({ run: async (jobs, ctx) => void runs.push({ lane: jobs[0]!.lane, reconcile: ctx.reconcile }), onGiveUp: () => [] });
      await a.close(50);
      await waitFor('every job delivered', () => runs.length === 12);
      expect(new Set(runs.map((r) => r.lane)).size).toBe(12);
      // Only what the stopped worker had started may have reached the helpdesk: only that is reconciled.
      expect(runs.filter((r) => r.reconcile).map((r) => r.lane).sort()).toEqual([...startedByA].sort());
    } finally {
      await a.close(50);
      await b.close(1000);
      redis.disconnect();
    }
  });
});

describe.runIf(available)('key-value records in Redis', () => {
  let server: RedisServer;
  let redis: Redis;
  beforeAll(async () => {
    server = await startRedis();
    redis = new Redis(server.url);
  });
  afterAll(async () => {
    redis?.disconnect();
    await server?.close();
  });

  it('Redis forgets an expiring record itself (PX); a record from before expiry (the old hash) is read, and moved out when written', async () => {
    await redis.hset('kvtest:kv', 'email:cursor', '{"lastUid":3}');
    const kv = redisKv(redis, 'kvtest');
    expect(await kv.get('email:cursor')).toBe('{"lastUid":3}');
    await kv.set('email:cursor', '{"lastUid":4}');
    expect(await redis.hexists('kvtest:kv', 'email:cursor')).toBe(0);
    expect(await kv.get('email:cursor')).toBe('{"lastUid":4}');
    expect(await redis.pttl('kvtest:kv:email:cursor')).toBe(-1);
    await kv.set('sent:r-1', '[1]', { keep: 'sent' });
    const ttl = await redis.pttl('kvtest:kv:sent:r-1');
    expect(ttl).toBeGreaterThan(DEFAULT_RETENTION.sent - 60_000);
    expect(ttl).toBeLessThanOrEqual(DEFAULT_RETENTION.sent);
    await kv.delete('email:cursor');
    expect(await kv.get('email:cursor')).toBeUndefined();
  });
});

describe.runIf(available)('the helpdesk rate limiter shared through Redis (two processes, one account)', () => {
  let server: RedisServer;
  const conns: Redis[] = [];
  const connect = () => {
    const r = new Redis(server.url);
    conns.push(r);
    return r;
  };
  beforeAll(async () => {
    server = await startRedis();
  });
  afterAll(async () => {
    for (const c of conns) c.disconnect();
    await server?.close();
  });

  /** `observe()` records in Redis without waiting: until the stream's hash holds `field` (with `value`), the other process cannot know. */
  const recorded = (key: string, field: string, value?: string) => {
    const reader = connect();
    return waitFor(`${field} of ${key} in Redis`, async () => {
      const got = await reader.hget(key, field);
      return got !== null && (value === undefined || got === value);
    });
  };
  const pair = (key: string, opts: RateLimiterOptions) => [createSharedRateLimiter(connect(), key, opts), createSharedRateLimiter(connect(), key, opts)] as const;

  it('spaces the requests of both processes together at the account rate', async () => {
    const [a, b] = pair('rl:spacing', { requestsPerMinute: 1200, burst: 2 }); // one per 50 ms between them
    const start = Date.now();
    const at: number[] = [];
    await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).acquire().then(() => at.push(Date.now() - start))));
    at.sort((x, y) => x - y);
    // 2 at once (the burst), then 18 more at 50 ms each: never faster than the rate, whoever asks.
    expect(at[19]!).toBeGreaterThanOrEqual(18 * 50 - 10);
    for (let i = 2; i < 20; i++) expect(at[i]! - at[i - 2]!).toBeGreaterThanOrEqual(50 - 10);
  });

  it('within a process, an urgent delivery waiting for the shared budget goes before ordinary ones waiting with it', async () => {
    const limiter = createSharedRateLimiter(connect(), 'rl:order', { requestsPerMinute: 600, burst: 2 }); // two at once, then one per 100 ms
    const order: string[] = [];
    const asks = [
      limiter.acquire().then(() => order.push('first')),
      limiter.acquire().then(() => order.push('normal 1')),
      limiter.acquire().then(() => order.push('normal 2')),
      withClass(URGENT, () => limiter.acquire().then(() => order.push('urgent'))),
    ];
    await Promise.all(asks);
    // The burst of two goes to the most urgent of those waiting together, then the rest in order.
    expect(order).toEqual(['urgent', 'first', 'normal 1', 'normal 2']);
  });

  it('at a high rate, each process keeps a few slots ahead, and both together still keep to the rate', async () => {
    const [a, b] = pair('rl:ahead', { requestsPerMinute: 60_000, burst: 2 }); // one per ms between them
    const reader = connect();
    const scriptCalls = async () => Number(/cmdstat_evalsha:calls=(\d+)/.exec(await reader.info('commandstats'))?.[1] ?? 0);
    const before = await scriptCalls();
    const start = Date.now();
    // Requests come a few at a time, as deliveries finish.
    await Promise.all([a, b].map(async (limiter) => {
      for (let i = 0; i < 50; i++) await Promise.all([limiter.acquire(), limiter.acquire(), limiter.acquire(), limiter.acquire()]);
    }));
    const took = Date.now() - start;
    // 400 requests: never faster than the rate allows, less the burst and what each process may keep ahead.
    expect(took).toBeGreaterThanOrEqual(400 - 2 - 2 * 16 - 10);
    // One script call per request before; now the requests that wait together share one.
    expect((await scriptCalls()) - before).toBeLessThan(200);
  });

  it('a Retry-After one process got stops the other one too, and the one that got it gives up the slots it kept ahead', async () => {
    const [a, b] = pair('rl:retry-after', { requestsPerMinute: 60_000 }); // a keeps 16 slots ahead
    await a.acquire();
    a.observe({ limited: true, retryAfterMs: 800 });
    await recorded('rl:retry-after', 'blocked');
    const start = Date.now();
    const waited = await Promise.all([a, b].map(async (limiter) => (await limiter.acquire(), Date.now() - start)));
    for (const ms of waited) expect(ms).toBeGreaterThanOrEqual(650);
  });

  it('a spent budget holds both until the window resets', async () => {
    const [a, b] = pair('rl:budget', { requestsPerMinute: 6000 });
    await a.acquire();
    a.observe({ remaining: 0, resetMs: 700 });
    await recorded('rl:budget', 'resets');
    const start = Date.now();
    await b.acquire();
    expect(Date.now() - start).toBeGreaterThanOrEqual(550);
  });

  it('a limit the helpdesk reports is adopted by every process; a new configured rate replaces an adopted one', async () => {
    const [a, b] = pair('rl:adopt', { requestsPerMinute: 200, followReportedLimit: true });
    await a.acquire();
    a.observe({ limit: 700 });
    await recorded('rl:adopt', 'rate', '700');
    await b.acquire();
    expect(b.requestsPerMinute).toBe(700);
    const capped = createSharedRateLimiter(connect(), 'rl:adopt', { requestsPerMinute: 100 });
    await capped.acquire();
    expect(capped.requestsPerMinute).toBe(100);
  });
});
