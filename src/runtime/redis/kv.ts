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
/**
 * RoutingLog's ring (see KeyValueStore.appendToRing), keys as redisKv writes them.
 * ARGV: keyPrefix hash name keep oldestAllowed values…
 */
const APPEND_TO_RING = new LuaScript(`
local kp, hash, name, keep, oldest = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
-- records from before expiry live in the hash (see redisKv): read there too, and moved out when written
local legacy = redis.call('EXISTS', hash) == 1
local function read(k)
  local v = redis.call('GET', kp .. k)
  if v or not legacy then return v end
  return redis.call('HGET', hash, k)
end
local function write(k, v)
  if v then redis.call('SET', kp .. k, v) else redis.call('DEL', kp .. k) end
  if legacy then redis.call('HDEL', hash, k) end
end
local ptr = read(name .. ':pointer') or ''
local head = tonumber(string.match(ptr, '"head":(%d+)')) or 0
local tail = tonumber(string.match(ptr, '"tail":(%d+)')) or 0
local slot = function(seq) return name .. ':' .. string.format('%d', seq % keep) end
local n = #ARGV - 5
for i = 1, n do write(slot(head + i - 1), ARGV[5 + i]) end
local last = head
head = head + n
tail = math.max(tail, head - keep)
-- Expired records go from the old end every 8th record, up to 4 per record since the last look
-- (never the ones just written): reading the oldest on every append would cost more than the append.
if math.floor(head / 8) > math.floor(last / 8) then
  for _ = 1, 32 + 4 * n do
    if tail >= last then break end
    -- RoutingLog writes 'at' first: read it without decoding the whole record
    local v = read(slot(tail)) or ''
    local at = tonumber(string.match(v, '^{"at":(%d+)[,}]'))
    if not at then
      local ok, r = pcall(cjson.decode, v)
      at = ok and type(r) == 'table' and tonumber(r.at) or 0
    end
    if at >= oldest then break end
    write(slot(tail), nil)
    tail = tail + 1
  end
end
write(name .. ':pointer', string.format('{"head":%d,"tail":%d}', head, tail))
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
    async appendToRing(name, values, keep, oldestAllowed) {
      if (values.length > 0) await APPEND_TO_RING.run(redis, [`${prefix}:kv:`, hash, name, keep, oldestAllowed, ...values]);
    },
    claimInWindow: async (key, id, limit, windowMs) =>
      (await scripts.claimInWindow.run(redis, [`${prefix}:window:${key}`, id, limit, windowMs, Date.now()])) === 1,
  };
}
