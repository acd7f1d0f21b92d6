import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RoutingLog } from '../../src/core/history/routing-log.ts';
import type { Decision } from '../../src/core/rules/schema.ts';
import { createEmbeddedRuntime } from '../../src/runtime/embedded/index.ts';
import { createRedisRuntime } from '../../src/runtime/redis/index.ts';
import type { Runtime } from '../../src/runtime/runtime.ts';
import { tempDir } from '../e2e/harness.ts';
import { redisAvailableOrExplain, startRedis, type RedisServer } from '../fakes/redis-server.ts';
import { playerMessage } from '../fixtures/message.ts';

/** The routing log lives in each runtime's key-value store: it survives a restart in both. */

const decision: Decision = { tags: ['kyc'], fields: {}, replies: [], notify: [], firedRules: ['kyc'], priority: 'high' };
const retry = { maxAttempts: 3, baseDelayMs: 50, maxDelayMs: 500 };

async function roundTrip(open: () => Promise<Runtime>): Promise<string[]> {
  let rt = await open();
  const log = new RoutingLog(rt.kv, { keep: 2, days: 30 });
  for (const id of ['1', '2', '3']) await log.append({ at: Date.now(), ticketId: id, created: true, isFirst: true, message: playerMessage(`документы ${id}`), decision });
  await rt.close();
  rt = await open();
  const got: string[] = [];
  for await (const r of new RoutingLog(rt.kv, { keep: 2, days: 30 }).newest()) got.push(`${r.ticketId}:${r.message.text}:${r.decision.tags.join(',')}`);
  await rt.close();
  return got;
}

describe('routing log in both runtimes', () => {
  it('embedded (SQLite): keeps the newest `keep` across a restart', async () => {
    const dir = await tempDir('switchboard-routing-log-');
    try {
      const open = async () => createEmbeddedRuntime({ path: dir.path, concurrency: 1, retry, log: pino({ level: 'silent' }) });
      expect(await roundTrip(open)).toEqual(['3:документы 3:kyc', '2:документы 2:kyc']);
    } finally {
      await dir.remove();
    }
  });

  describe.runIf(redisAvailableOrExplain('the routing log on Redis'))('Redis', () => {
    let server: RedisServer;
    beforeAll(async () => {
      server = await startRedis();
    });
    afterAll(async () => server?.close());

    it('keeps the newest `keep` across a restart', async () => {
      const open = async () => createRedisRuntime({ url: server.url, prefix: 'routing-log', concurrency: 1, retry, log: pino({ level: 'silent' }) });
      expect(await roundTrip(open)).toEqual(['3:документы 3:kyc', '2:документы 2:kyc']);
    });

    it('two processes appending at once lose no record (each append is one atomic step), and expired ones go from the old end', async () => {
      const open = () => createRedisRuntime({ url: server.url, prefix: 'routing-shared', concurrency: 1, retry, log: pino({ level: 'silent' }) });
      const [a, b] = [open(), open()];
      try {
        let now = Date.parse('2026-03-01T00:00:00Z');
        const logs = [a, b].map((rt) => new RoutingLog(rt.kv, { keep: 50, days: 2, now: () => now }));
        await logs[0]!.append({ at: now, ticketId: 'old', created: true, isFirst: true, message: playerMessage('x'), decision });
        now += 3 * 86_400_000;
        await Promise.all(Array.from({ length: 20 }, (_, i) => logs[i % 2]!.append({ at: now, ticketId: String(i), created: true, isFirst: true, message: playerMessage('x'), decision })));
        const got: string[] = [];
        for await (const r of logs[1]!.newest()) got.push(r.ticketId);
        expect(got.sort()).toEqual(Array.from({ length: 20 }, (_, i) => String(i)).sort());
        // The expired record's slot is gone, not only skipped by readers.
        expect(await a.kv.get('routing-log:0')).toBeUndefined();
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('an append continues a ring an older version kept in the key-value hash, and moves the pointer out of it', async () => {
      const redis = new Redis(server.url);
      const rt = createRedisRuntime({ url: server.url, prefix: 'routing-legacy', concurrency: 1, retry, log: pino({ level: 'silent' }) });
      try {
        const old = JSON.stringify({ at: Date.now(), ticketId: 'before', created: true, isFirst: true, message: playerMessage('x'), decision });
        await redis.hset('routing-legacy:kv', 'routing-log:pointer', JSON.stringify({ head: 1, tail: 0 }), 'routing-log:0', old);
        const log = new RoutingLog(rt.kv, { keep: 10, days: 30 });
        await log.append({ at: Date.now(), ticketId: 'after', created: true, isFirst: true, message: playerMessage('y'), decision });
        const got: string[] = [];
        for await (const r of log.newest()) got.push(r.ticketId);
        expect(got).toEqual(['after', 'before']);
        expect(await redis.hget('routing-legacy:kv', 'routing-log:pointer')).toBeNull();
      } finally {
        await rt.close();
        redis.disconnect();
      }
    });
  });
});
