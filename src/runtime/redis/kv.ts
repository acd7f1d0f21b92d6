import type { Redis } from 'ioredis';
import type { KeyValueStore } from '../../core/connector.ts';
import { DEFAULT_RETENTION, expiresAt, type Retention } from '../../core/retention.ts';
import { scripts } from './scripts.ts';

/**
 * The Redis runtime's key-value records: one string key each (`{prefix}:kv:{key}`), written with
 * PX when the record expires, so Redis itself forgets it. Records of versions before expiry lived
 * in one hash (`{prefix}:kv`): they are still read, and moved out of it when written again.
 */
export function redisKv(redis: Redis, prefix: string, retention: Readonly<Retention> = DEFAULT_RETENTION): KeyValueStore {
  const hash = `${prefix}:kv`;
  const keyOf = (key: string) => `${prefix}:kv:${key}`;
  return {
    async get(key) {
      const [value, legacy] = answers(await redis.pipeline().get(keyOf(key)).hget(hash, key).exec());
      return (value as string | null) ?? (legacy as string | null) ?? undefined;
    },
    async set(key, value, opts) {
      const now = Date.now();
      const until = expiresAt(opts, retention, now);
      const write = redis.multi();
      if (until === undefined) write.set(keyOf(key), value);
      else write.set(keyOf(key), value, 'PX', Math.max(1, until - now));
      answers(await write.hdel(hash, key).exec());
    },
    async delete(key) {
      answers(await redis.multi().del(keyOf(key)).hdel(hash, key).exec());
    },
    claimInWindow: async (key, id, limit, windowMs) =>
      (await scripts.claimInWindow.run(redis, [`${prefix}:window:${key}`, id, limit, windowMs, Date.now()])) === 1,
  };
}

/** The results of a pipeline or transaction; the first command that failed throws its error. */
function answers(results: [Error | null, unknown][] | null): unknown[] {
  if (!results) throw new Error('Redis discarded the transaction');
  for (const [err] of results) if (err) throw err;
  return results.map(([, value]) => value);
}
