import type { Redis } from 'ioredis';
import type { ProcessBoard } from '../runtime.ts';

/** P:processes: hash processId -> {expiresAt, report}; entries past their time are removed when read. */
export function redisProcessBoard(redis: Redis, prefix: string): ProcessBoard {
  const key = `${prefix}:processes`;
  return {
    async publish(processId, report, ttlMs) {
      await redis.hset(key, processId, JSON.stringify({ expiresAt: Date.now() + ttlMs, report }));
    },
    async list() {
      const all = await redis.hgetall(key);
      const live: string[] = [];
      const gone: string[] = [];
      for (const [id, raw] of Object.entries(all)) {
        const entry = JSON.parse(raw) as { expiresAt: number; report: string };
        if (entry.expiresAt < Date.now()) gone.push(id);
        else live.push(entry.report);
      }
      if (gone.length > 0) await redis.hdel(key, ...gone);
      return live;
    },
  };
}
