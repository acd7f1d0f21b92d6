import type { Redis } from 'ioredis';
import type { KeyValueStore } from '../../core/connector.ts';
import { DEFAULT_RETENTION, expiresAt, type Retention } from '../../core/retention.ts';
import { LuaScript, scripts } from './scripts.ts';

/*
 * Each operation is one script (atomic as the MULTI it replaces): a script call joins the
 * connection's auto-pipeline with whatever else is sent in the same turn, where a MULTI or an
 * explicit pipeline is a write of its own. ARGV: key hash field [value px|''].
 */
const GET = new LuaScript(`
local v = redis.call('GET', ARGV[1])
if v then return v end
return redis.call('HGET', ARGV[2], ARGV[3])
`);
const SET = new LuaScript(`
if ARGV[5] == '' then redis.call('SET', ARGV[1], ARGV[4]) else redis.call('SET', ARGV[1], ARGV[4], 'PX', ARGV[5]) end
redis.call('HDEL', ARGV[2], ARGV[3])
return 1
`);
const DELETE = new LuaScript(`
redis.call('DEL', ARGV[1])
redis.call('HDEL', ARGV[2], ARGV[3])
return 1
`);

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
      return ((await GET.run(redis, [keyOf(key), hash, key])) as string | null) ?? undefined;
    },
    async set(key, value, opts) {
      const now = Date.now();
      const until = expiresAt(opts, retention, now);
      await SET.run(redis, [keyOf(key), hash, key, value, until === undefined ? '' : Math.max(1, until - now)]);
    },
    async delete(key) {
      await DELETE.run(redis, [keyOf(key), hash, key]);
    },
    claimInWindow: async (key, id, limit, windowMs) =>
      (await scripts.claimInWindow.run(redis, [`${prefix}:window:${key}`, id, limit, windowMs, Date.now()])) === 1,
  };
}
