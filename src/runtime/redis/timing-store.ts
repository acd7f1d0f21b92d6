import type { Redis } from 'ioredis';
import { TimingRecord, type TimingStore, type Versioned } from '../../core/kpi/record.ts';
import { LuaScript } from './scripts.ts';

/*
 * Conversation timings in Redis, under the prefix P:
 *   P:timing:<ticketId>   hash: v (version for compare-and-set), data (the record's JSON)
 *   P:timing:opened       zset ticketId -> openedAt (reports)
 *   P:timing:watch        zset ticketId -> watchFrom (what the SLA watch looks at)
 * A write and its two indexes change in one script, so they never disagree.
 */

/** ARGV: P ticketId expectedVersion data openedAt watchFrom|'' → 1 written, 0 someone else wrote first. */
const PUT = new LuaScript(`
local P, id = ARGV[1], ARGV[2]
local key = P .. ':timing:' .. id
local v = tonumber(redis.call('HGET', key, 'v') or '0')
if v ~= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', key, 'v', v + 1, 'data', ARGV[4])
redis.call('ZADD', P .. ':timing:opened', ARGV[5], id)
if ARGV[6] == '' then redis.call('ZREM', P .. ':timing:watch', id) else redis.call('ZADD', P .. ':timing:watch', ARGV[6], id) end
return 1
`);

/** ARGV: P before limit → {looked at, removed}: conversations opened before `before` and not watched go. */
const PRUNE = new LuaScript(`
local P = ARGV[1]
local ids = redis.call('ZRANGEBYSCORE', P .. ':timing:opened', '-inf', '(' .. ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
local n = 0
for _, id in ipairs(ids) do
  if not redis.call('ZSCORE', P .. ':timing:watch', id) then
    redis.call('DEL', P .. ':timing:' .. id)
    redis.call('ZREM', P .. ':timing:opened', id)
    n = n + 1
  end
end
return {#ids, n}
`);

/** Reads and prunes go in slices so no single command holds Redis up. */
const SLICE = 500;

export function createRedisTimingStore(redis: Redis, prefix: string): TimingStore {
  const key = (ticketId: string) => `${prefix}:timing:${ticketId}`;
  const parse = (data: string | null | undefined): TimingRecord | undefined => (data ? TimingRecord.safeParse(JSON.parse(data)).data : undefined);

  async function read(ids: string[]): Promise<Versioned[]> {
    const out: Versioned[] = [];
    for (let i = 0; i < ids.length; i += SLICE) {
      const rows = await Promise.all(ids.slice(i, i + SLICE).map((id) => redis.hmget(key(id), 'v', 'data')));
      for (const [v, data] of rows) {
        const record = parse(data);
        if (record) out.push({ record, version: Number(v) });
      }
    }
    return out;
  }

  return {
    async get(ticketId) {
      const [v, data] = await redis.hmget(key(ticketId), 'v', 'data');
      const record = parse(data);
      return record && { record, version: Number(v) };
    },
    async put(record, version) {
      const written = await PUT.run(redis, [prefix, record.ticketId, version, JSON.stringify(record), record.openedAt, record.watchFrom ?? '']);
      return Number(written) === 1;
    },
    async openedBetween(from, to) {
      const ids = await redis.zrangebyscore(`${prefix}:timing:opened`, String(from), `(${to}`);
      return (await read(ids)).map((v) => v.record);
    },
    async watched(limit) {
      return read(await redis.zrange(`${prefix}:timing:watch`, 0, String(limit - 1)));
    },
    async prune(before) {
      let total = 0;
      for (;;) {
        const [looked, removed] = (await PRUNE.run(redis, [prefix, before, SLICE])) as [number, number];
        total += Number(removed);
        // A full slice with something removed may have more behind it; still-watched ones stay and are skipped.
        if (Number(looked) < SLICE || Number(removed) === 0) return total;
      }
    },
  };
}
