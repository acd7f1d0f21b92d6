import type { Redis } from 'ioredis';
import { newId } from '../../core/ids.ts';
import type { Lease } from '../runtime.ts';

// Take the lease if free, or extend it if it is ours; one script so check and set are one step.
const HOLD = `
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if v then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/** A named lease in Redis held by one process at a time; it lapses `ttlMs` after its holder stops renewing. */
export function redisLease(redis: Redis, key: string, ttlMs: number): Lease {
  const holder = newId();
  return {
    ttlMs,
    async hold() {
      return Number(await redis.eval(HOLD, 1, key, holder, ttlMs)) === 1;
    },
    async release() {
      await redis.eval(RELEASE, 1, key, holder);
    },
  };
}
