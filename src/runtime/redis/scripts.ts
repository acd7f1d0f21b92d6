import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * The Redis runtime's state changes, each one Lua script so it is atomic: a crash (of the
 * gateway or of Redis) leaves either all of it or none of it.
 *
 * Keys under the prefix P:
 *   P:ledger:<dedupeKey>  job id (SET NX: the idempotency ledger; expires after retention once done)
 *   P:job:<id>            hash: dk lane target batch payload attempts failures ambiguous runAt createdAt
 *                         state [error detail status failedAt]
 *   P:lane:<lane>         list of job ids, in order (the conversation's queue)
 *   P:held                hash lane -> token id: the one BullMQ "lane token" that may run this lane
 *   P:pending             zset id -> createdAt (queue depth, oldest waiting job)
 *   P:dead                zset id -> failedAt (the dead-letter queue)
 *   P:pause:<target>      ms timestamp until which the target asked us to wait (Retry-After)
 *
 * A lane has work  <=>  P:held has an entry for it  <=>  a BullMQ job (the token) exists for it.
 * The first two change together here; the token is added right after by the caller (and, if
 * that process died in between, by the sweep).
 */

const LIB = `
local P = ARGV[1]
local function jobkey(id) return P .. ':job:' .. id end
local function lanekey(lane) return P .. ':lane:' .. lane end

-- Insert-if-absent of one job; a lane that had no token gets one (returned in tokens).
local function add_job(now, settle, dk, id, lane, target, batch, payload, tokenBase, tokens)
  local lk = P .. ':ledger:' .. dk
  if not redis.call('SET', lk, id, 'NX') then
    return 0, redis.call('GET', lk) or id
  end
  local runAt = now
  if batch ~= '' then runAt = now + settle end
  redis.call('HSET', jobkey(id), 'dk', dk, 'lane', lane, 'target', target, 'batch', batch, 'payload', payload,
    'attempts', 0, 'failures', 0, 'ambiguous', 0, 'runAt', runAt, 'createdAt', now, 'state', 'queued')
  redis.call('RPUSH', lanekey(lane), id)
  redis.call('ZADD', P .. ':pending', now, id)
  local token = tokenBase .. '-' .. (#tokens / 3)
  if redis.call('HSETNX', P .. ':held', lane, token) == 1 then
    tokens[#tokens + 1] = lane
    tokens[#tokens + 1] = token
    tokens[#tokens + 1] = runAt
  end
  return 1, id
end

-- Jobs packed 6 fields each from ARGV[from]: dk id lane target batch payload
local function add_jobs(from, count, now, settle, tokenBase, tokens)
  local out = {}
  for i = 0, count - 1 do
    local b = from + i * 6
    local new, id = add_job(now, settle, ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4], ARGV[b + 5], tokenBase, tokens)
    out[#out + 1] = new
    out[#out + 1] = id
  end
  return out
end

-- The lane token gives the lane up when nothing is left in it. 1 = more work, 0 = empty.
local function release_if_empty(lane, token)
  if redis.call('LLEN', lanekey(lane)) > 0 then return 1 end
  if redis.call('HGET', P .. ':held', lane) == token then redis.call('HDEL', P .. ':held', lane) end
  return 0
end
`;

/** ARGV: P now settleMs tokenBase count, then count × (dk id lane target batch payload). */
const ENQUEUE = `${LIB}
local tokens = {}
local out = add_jobs(6, tonumber(ARGV[5]), tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[4], tokens)
return {out, tokens}
`;

/**
 * ARGV: P lane token now maxBatch.
 * {'stale'} (another token owns the lane) | {'empty'} | {'wait', untilMs} | {'run', id, fields…}…
 * Marks what it returns as started: attempts+1, ambiguous (the attempt may reach the remote side).
 */
const TAKE = `${LIB}
local lane, token, now = ARGV[2], ARGV[3], tonumber(ARGV[4])
if redis.call('HGET', P .. ':held', lane) ~= token then return {'stale'} end
local ids = redis.call('LRANGE', lanekey(lane), 0, tonumber(ARGV[5]) - 1)
if #ids == 0 then
  redis.call('HDEL', P .. ':held', lane)
  return {'empty'}
end
local head = redis.call('HMGET', jobkey(ids[1]), 'runAt', 'target', 'batch')
if not head[1] then
  -- a job id without its record cannot run; drop it so the lane is not stuck
  redis.call('LPOP', lanekey(lane))
  return {'wait', tostring(now)}
end
if tonumber(head[1]) > now then return {'wait', head[1]} end
local pause = redis.call('GET', P .. ':pause:' .. head[2])
if pause and tonumber(pause) > now then return {'wait', pause} end
local out = {'run'}
for i, id in ipairs(ids) do
  local k = jobkey(id)
  if i > 1 and (head[3] == '' or redis.call('HGET', k, 'batch') ~= head[3]) then break end
  local f = redis.call('HMGET', k, 'dk', 'lane', 'target', 'batch', 'payload', 'attempts', 'failures', 'ambiguous', 'createdAt')
  redis.call('HINCRBY', k, 'attempts', 1)
  redis.call('HSET', k, 'ambiguous', 1)
  out[#out + 1] = id
  for j = 1, 9 do out[#out + 1] = f[j] or '' end
end
return out
`;

/** ARGV: P lane token retentionMs ids… → 1 more work in the lane, 0 empty (token released). */
const COMPLETE = `${LIB}
local lane, token, retention = ARGV[2], ARGV[3], tonumber(ARGV[4])
for i = 5, #ARGV do
  local id = ARGV[i]
  local k = jobkey(id)
  local dk = redis.call('HGET', k, 'dk')
  redis.call('LREM', lanekey(lane), 1, id)
  redis.call('DEL', k)
  redis.call('ZREM', P .. ':pending', id)
  if dk then redis.call('PEXPIRE', P .. ':ledger:' .. dk, retention) end
end
return release_if_empty(lane, token)
`;

/** ARGV: P id runAt failures ambiguous error detail status target pauseUntil now → 1, or 0 if gone. */
const RETRY = `${LIB}
local k = jobkey(ARGV[2])
if redis.call('EXISTS', k) == 0 then return 0 end
redis.call('HSET', k, 'runAt', ARGV[3], 'failures', ARGV[4], 'ambiguous', ARGV[5], 'error', ARGV[6], 'detail', ARGV[7], 'status', ARGV[8])
if ARGV[10] ~= '' then
  local pk = P .. ':pause:' .. ARGV[9]
  local untilMs, now = tonumber(ARGV[10]), tonumber(ARGV[11])
  if untilMs > tonumber(redis.call('GET', pk) or '0') then
    redis.call('SET', pk, ARGV[10], 'PX', math.max(1, untilMs - now))
  end
end
return 1
`;

/**
 * Dead-letters jobs and enqueues the follow-up work in the same step.
 * ARGV: P lane token now settleMs tokenBase error detail status ambiguous nIds ids… nFollow follow-ups…
 * → {more, tokens}
 */
const KILL = `${LIB}
local lane, token, now = ARGV[2], ARGV[3], tonumber(ARGV[4])
local n = tonumber(ARGV[11])
for i = 12, 11 + n do
  local id = ARGV[i]
  local k = jobkey(id)
  redis.call('LREM', lanekey(lane), 1, id)
  redis.call('ZREM', P .. ':pending', id)
  if redis.call('EXISTS', k) == 1 then
    redis.call('HSET', k, 'state', 'dead', 'error', ARGV[7], 'detail', ARGV[8], 'status', ARGV[9], 'ambiguous', ARGV[10], 'failedAt', now)
    redis.call('ZADD', P .. ':dead', now, id)
  end
end
local tokens = {}
add_jobs(13 + n, tonumber(ARGV[12 + n]), now, tonumber(ARGV[5]), ARGV[6], tokens)
return {release_if_empty(lane, token), tokens}
`;

/** ARGV: P now tokenBase ('all' | ids…) → {count, tokens}. Back at the end of the lane, fresh attempts. */
const REPLAY = `${LIB}
local now = tonumber(ARGV[2])
local ids = {}
if ARGV[4] == 'all' then ids = redis.call('ZRANGE', P .. ':dead', 0, -1) else for i = 4, #ARGV do ids[#ids + 1] = ARGV[i] end end
local tokens = {}
local count = 0
for _, id in ipairs(ids) do
  if redis.call('ZREM', P .. ':dead', id) == 1 then
    local k = jobkey(id)
    local f = redis.call('HMGET', k, 'lane', 'createdAt')
    if f[1] then
      count = count + 1
      redis.call('HSET', k, 'state', 'queued', 'attempts', 0, 'failures', 0, 'ambiguous', 0, 'runAt', now)
      redis.call('HDEL', k, 'error', 'detail', 'status', 'failedAt')
      redis.call('RPUSH', lanekey(f[1]), id)
      redis.call('ZADD', P .. ':pending', tonumber(f[2]) or now, id)
      local token = ARGV[3] .. '-' .. count
      if redis.call('HSETNX', P .. ':held', f[1], token) == 1 then
        tokens[#tokens + 1] = f[1]
        tokens[#tokens + 1] = token
        tokens[#tokens + 1] = now
      end
    end
  end
end
return {count, tokens}
`;

/** ARGV: P retentionMs ('all' | ids…) → count. The ledger keys expire like those of finished work. */
const DROP = `${LIB}
local ids = {}
if ARGV[3] == 'all' then ids = redis.call('ZRANGE', P .. ':dead', 0, -1) else for i = 3, #ARGV do ids[#ids + 1] = ARGV[i] end end
local count = 0
for _, id in ipairs(ids) do
  if redis.call('ZREM', P .. ':dead', id) == 1 then
    count = count + 1
    local k = jobkey(id)
    local dk = redis.call('HGET', k, 'dk')
    redis.call('DEL', k)
    if dk then redis.call('PEXPIRE', P .. ':ledger:' .. dk, tonumber(ARGV[2])) end
  end
end
return count
`;

/** ARGV: P tokenKeyPrefix cursor count → {nextCursor, {lane, token}…} for tokens whose BullMQ job is gone. */
const SWEEP = `
local res = redis.call('HSCAN', ARGV[1] .. ':held', ARGV[3], 'COUNT', tonumber(ARGV[4]))
local missing = {}
local kv = res[2]
for i = 1, #kv, 2 do
  if redis.call('EXISTS', ARGV[2] .. kv[i + 1]) == 0 then
    missing[#missing + 1] = kv[i]
    missing[#missing + 1] = kv[i + 1]
  end
end
return {res[1], missing}
`;

/** ARGV: P conversationKey ticketId json. A conversation's link, findable by every ticket it had. */
const LINK_PUT = `
redis.call('SET', ARGV[1] .. ':link:' .. ARGV[2], ARGV[4])
redis.call('SET', ARGV[1] .. ':ticket:' .. ARGV[3], ARGV[2])
return 1
`;

/** ARGV: P ticketId → the link json or nil. */
const LINK_BY_TICKET = `
local key = redis.call('GET', ARGV[1] .. ':ticket:' .. ARGV[2])
if not key then return false end
return redis.call('GET', ARGV[1] .. ':link:' .. key)
`;

export class LuaScript {
  readonly sha: string;
  readonly source: string;

  constructor(source: string) {
    this.source = source;
    this.sha = createHash('sha1').update(source).digest('hex');
  }

  /** EVALSHA, falling back to EVAL when Redis does not know the script (first use, or after a restart). */
  async run(redis: Redis, args: (string | number)[]): Promise<unknown> {
    try {
      return await redis.evalsha(this.sha, 0, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith('NOSCRIPT')) throw err;
      return redis.eval(this.source, 0, ...args);
    }
  }
}

/** KeyValueStore.claimInWindow: a sorted set id → when, trimmed to the window, capped at the limit. */
const CLAIM_IN_WINDOW = `
local key, id, limit, window, now = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
if redis.call('ZSCORE', key, id) then return 1 end
if redis.call('ZCARD', key) >= limit then return 0 end
redis.call('ZADD', key, now, id)
redis.call('PEXPIRE', key, window)
return 1
`;

export const scripts = {
  enqueue: new LuaScript(ENQUEUE),
  take: new LuaScript(TAKE),
  complete: new LuaScript(COMPLETE),
  retry: new LuaScript(RETRY),
  kill: new LuaScript(KILL),
  replay: new LuaScript(REPLAY),
  drop: new LuaScript(DROP),
  sweep: new LuaScript(SWEEP),
  linkPut: new LuaScript(LINK_PUT),
  linkByTicket: new LuaScript(LINK_BY_TICKET),
  claimInWindow: new LuaScript(CLAIM_IN_WINDOW),
};
