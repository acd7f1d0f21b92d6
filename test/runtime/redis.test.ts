import { afterAll, beforeAll, describe } from 'vitest';
import { Redis } from 'ioredis';
import pino from 'pino';
import { createRedisRuntime } from '../../src/runtime/redis/index.ts';
import { redisAvailableOrExplain, startRedis, type RedisServer } from '../fakes/redis-server.ts';
import { runtimeConformance } from './conformance.ts';

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

  runtimeConformance('redis (BullMQ + ioredis)', {
    sharedState: true,
    async open(name, opts) {
      return createRedisRuntime({
        url: server.url,
        prefix: `conf-${name}`,
        concurrency: opts?.concurrency ?? 4,
        retry: { maxAttempts: opts?.maxAttempts ?? 10, baseDelayMs: 40, maxDelayMs: 2000 },
        batchSettleMs: 150,
        lockDurationMs: 2000,
        log: pino({ level: 'silent' }),
      });
    },
    async cleanup() {
      const r = new Redis(server.url);
      await r.flushall();
      r.disconnect();
    },
  });
});
