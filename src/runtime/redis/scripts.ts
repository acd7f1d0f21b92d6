import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/**
 * The Redis runtime's state changes, each one Lua script so it is atomic: a crash (of the
 * gateway or of Redis) leaves either all of it or none of it. The scheduling is the embedded
 * store's (see ../classes.ts and ../embedded/lane-book.ts), kept in Redis so every process
 * shares it.
 *
 * Keys under the prefix P:
 *   P:ledger:<dedupeKey>  job id (SET NX: the idempotency ledger; expires after retention once done)
 *   P:job:<id>            hash: dk lane target batch payload attempts failures ambiguous runAt createdAt
 *                         state cls throttled conv [error detail status failedAt]
 *                         cls: 0 urgent … 3 throttled once classified, 10 + the provisional class before
 *   P:lane:<lane>         list of job ids, in order (the conversation's queue)
 *   P:ls:<lane>           hash: the lane's state: c0 … c3 (queued jobs per class), target,
 *                         where (ready | delayed | running), owner (the worker that took it).
 *                         Exists exactly while the lane has queued jobs. (Builds before wrote
 *                         the taken job ids in a field 'running' too, which nothing read.)
 *   P:ready:<target>      zset lane -> class * 2^44 + turn: ready lanes, most urgent class first,
 *                         then in the order they became ready (round-robin)
 *   P:targets             set of targets that may have ready lanes
 *   P:turn                counter for the round-robin (a script call reads it once and writes it back once)
 *   P:delayed             zset lane -> due time (backoff, an album settling, a paused target)
 *   P:running             zset lane -> lock expiry; a lane whose worker died is taken back
 *   P:unclassified        zset job id -> P:queued (a counter): jobs the workers have yet to classify,
 *                         oldest first (a job leaves it when it is done or dead)
 *   P:classifying         zset job id -> expiry (handed to a worker for classification)
 *   P:wake                list: a token here wakes one idle worker (BLPOP)
 *   P:pending             zset id -> createdAt (queue depth, oldest waiting job)
 *   P:classified          hash c0 … c3: jobs in P:pending classified into each class (the rest
 *                         are not classified yet); read by stats, never by the scheduler; a script
 *                         call adds up its changes and writes each count once
 *   P:dead                zset id -> failedAt (the dead-letter queue)
 *   P:pause:<target>      ms timestamp until which the target asked us to wait (Retry-After)
 *   P:flood:<sender>      hash tokens at episode: the sender's flood-limit bucket
 *   P:link:<conversation> the conversation's link (LinkStore); handed out with its jobs
 *   P:ticket:<ticket>     the ticket's latest conversation (LinkStore.byTicket)
 *   P:ticket-at:<ticket>  its Link.latestAt: an older write does not take the ticket back
 */

const LIB = `
local P = ARGV[1]
local TURN_SPAN = 17592186044416
local function jobkey(id) return P .. ':job:' .. id end
local function lanekey(lane) return P .. ':lane:' .. lane end
local function lskey(lane) return P .. ':ls:' .. lane end

-- The most urgent class with queued jobs, from the counts c0 … c3 (c[1] … c[4]).
local function class_of(c)
  for i = 1, 4 do if (tonumber(c[i]) or 0) > 0 then return i - 1 end end
  return 2
end

local function lane_class(ls)
  return class_of(redis.call('HMGET', ls, 'c0', 'c1', 'c2', 'c3'))
end

-- Targets this script call has already added to P:targets.
local listed = {}

-- P:turn as this call advanced it, and its changes to the stats' counts (P:classified): written
-- once, by commit(), not once per lane and job (each write is a command and bytes in the AOF).
local turn = nil
local tallied = {0, 0, 0, 0}
local function next_turn()
  turn = (turn or tonumber(redis.call('GET', P .. ':turn') or '0')) + 1
  return turn
end

-- A queued job of class cls (10 + provisional: not classified) joins (+1) or leaves (-1) the stats' counts.
local function tally(cls, delta)
  if cls >= 10 then return end
  tallied[cls + 1] = tallied[cls + 1] + delta
end

-- Every script that changes lanes or jobs returns through this: the writes kept back are made.
local function commit(result)
  if turn then redis.call('SET', P .. ':turn', string.format('%d', turn)) end
  local k = P .. ':classified'
  for c = 1, 4 do
    -- Jobs classified before the counts existed (an upgrade) leave without taking them below 0.
    if tallied[c] ~= 0 and redis.call('HINCRBY', k, 'c' .. (c - 1), tallied[c]) < 0 then redis.call('HSET', k, 'c' .. (c - 1), 0) end
  end
  turn = nil
  tallied = {0, 0, 0, 0}
  return result
end

-- The lane goes to the back of its class's ready lanes; 'fields' are written to its state with it.
local function ready_in(lane, ls, target, cls, fields)
  redis.call('ZADD', P .. ':ready:' .. target, cls * TURN_SPAN + next_turn(), lane)
  if not listed[target] then
    redis.call('SADD', P .. ':targets', target)
    listed[target] = true
  end
  fields[#fields + 1] = 'where'
  fields[#fields + 1] = 'ready'
  redis.call('HSET', ls, unpack(fields))
end

local function to_ready(lane, ls, target)
  ready_in(lane, ls, target, lane_class(ls), {})
end

local function place(lane, ls, target, runAt, now)
  if runAt > now then
    redis.call('HSET', ls, 'where', 'delayed')
    redis.call('ZADD', P .. ':delayed', runAt, lane)
  else
    to_ready(lane, ls, target)
  end
end

-- One job of the lane moves from class 'from' to class 'to' (-1: none); a ready lane whose class rose moves up.
-- The lane's state is read once; a job classified as it was provisionally changes nothing.
local function recount(lane, from, to)
  if from == to then return end
  local ls = lskey(lane)
  local s = redis.call('HMGET', ls, 'c0', 'c1', 'c2', 'c3', 'where', 'target')
  local before = class_of(s)
  local fields = {}
  if from >= 0 then
    s[from + 1] = (tonumber(s[from + 1]) or 0) - 1
    fields[#fields + 1] = 'c' .. from
    fields[#fields + 1] = s[from + 1]
  end
  if to >= 0 then
    s[to + 1] = (tonumber(s[to + 1]) or 0) + 1
    fields[#fields + 1] = 'c' .. to
    fields[#fields + 1] = s[to + 1]
  end
  local after = class_of(s)
  if after ~= before and s[5] == 'ready' then
    redis.call('ZREM', P .. ':ready:' .. s[6], lane)
    ready_in(lane, ls, s[6], after, fields)
  else
    redis.call('HSET', ls, unpack(fields))
  end
end

-- The lane's worker let go of it: it gets its new head and goes to the back of its class (or away).
local function settle(lane, now)
  local ls = lskey(lane)
  redis.call('ZREM', P .. ':running', lane)
  local head = redis.call('LINDEX', lanekey(lane), 0)
  if not head then
    redis.call('DEL', ls)
    return 0
  end
  redis.call('HSET', ls, 'owner', '')
  place(lane, ls, redis.call('HGET', ls, 'target'), tonumber(redis.call('HGET', jobkey(head), 'runAt')) or now, now)
  return 1
end

-- A worker's finished jobs (ARGV[from] … ARGV[from + n - 1]) leave their lane and the lane settles, as
-- leave() and settle() do, with the lane's state read once and written once. False: not its lane.
local function finish(worker, lane, from, n, now, retention)
  local ls = lskey(lane)
  local s = redis.call('HMGET', ls, 'owner', 'target', 'c0', 'c1', 'c2', 'c3')
  if s[1] ~= worker then return false end
  local c = {tonumber(s[3]) or 0, tonumber(s[4]) or 0, tonumber(s[5]) or 0, tonumber(s[6]) or 0}
  local changed = {}
  for j = from, from + n - 1 do
    local id = ARGV[j]
    local k = jobkey(id)
    local f = redis.call('HMGET', k, 'dk', 'cls')
    redis.call('LREM', lanekey(lane), 1, id)
    redis.call('ZREM', P .. ':pending', id)
    local cls = tonumber(f[2])
    -- a classified job left P:unclassified when it was handed out (if it is back there, its lock
    -- lapsed: it is skipped when handed out again, as a job that is gone)
    if not cls or cls >= 10 then redis.call('ZREM', P .. ':unclassified', id) end
    if cls then
      c[cls % 10 + 1] = c[cls % 10 + 1] - 1
      changed[cls % 10 + 1] = true
      tally(cls, -1)
    end
    redis.call('DEL', k)
    if f[1] then redis.call('PEXPIRE', P .. ':ledger:' .. f[1], retention) end
  end
  redis.call('ZREM', P .. ':running', lane)
  local head = redis.call('LINDEX', lanekey(lane), 0)
  if not head then
    redis.call('DEL', ls)
    return true
  end
  -- the counts of the classes its jobs left, and no owner
  local fields = {'owner', ''}
  for k = 1, 4 do
    if changed[k] then
      fields[#fields + 1] = 'c' .. (k - 1)
      fields[#fields + 1] = c[k]
    end
  end
  local runAt = tonumber(redis.call('HGET', jobkey(head), 'runAt')) or now
  if runAt > now then
    fields[#fields + 1] = 'where'
    fields[#fields + 1] = 'delayed'
    redis.call('HSET', ls, unpack(fields))
    redis.call('ZADD', P .. ':delayed', runAt, lane)
  else
    ready_in(lane, ls, s[2], class_of(c), fields)
  end
  return true
end

local function wake()
  redis.call('LPUSH', P .. ':wake', 1)
  redis.call('LTRIM', P .. ':wake', 0, 15)
end

-- The per-sender flood limit, as src/runtime/flood.ts: '' within it, 'first' / 'more' throttled.
local function flood_mark(sender, now, cap, perMs)
  local k = P .. ':flood:' .. sender
  local b = redis.call('HMGET', k, 'tokens', 'at', 'episode')
  local tokens = tonumber(b[1]) or cap
  local at = tonumber(b[2]) or now
  local episode = b[3] == '1'
  tokens = math.min(cap, tokens + (now - at) * perMs)
  if tokens >= cap then episode = false end
  local mark = ''
  if tokens >= 1 then
    tokens = tokens - 1
  else
    if episode then mark = 'more' else mark = 'first' end
    episode = true
  end
  redis.call('HSET', k, 'tokens', tostring(tokens), 'at', now, 'episode', episode and '1' or '0')
  redis.call('PEXPIRE', k, math.ceil(cap / perMs))
  return mark
end

-- Insert-if-absent of one job; it waits unclassified, with the provisional class.
local function add_job(now, settle_ms, cap, perMs, dk, id, lane, target, batch, payload, sender, conv)
  local lk = P .. ':ledger:' .. dk
  if not redis.call('SET', lk, id, 'NX') then
    return 0, redis.call('GET', lk) or id
  end
  local runAt = now
  if batch ~= '' then runAt = now + settle_ms end
  local throttled = ''
  if sender ~= '' and cap > 0 then throttled = flood_mark(sender, now, cap, perMs) end
  local prov = 2
  if throttled ~= '' then prov = 3 end
  redis.call('HSET', jobkey(id), 'dk', dk, 'lane', lane, 'target', target, 'batch', batch, 'payload', payload,
    'attempts', 0, 'failures', 0, 'ambiguous', 0, 'runAt', runAt, 'createdAt', now, 'state', 'queued',
    'cls', 10 + prov, 'throttled', throttled, 'conv', conv)
  redis.call('RPUSH', lanekey(lane), id)
  redis.call('ZADD', P .. ':pending', now, id)
  redis.call('ZADD', P .. ':unclassified', redis.call('INCR', P .. ':queued'), id)
  local ls = lskey(lane)
  if redis.call('EXISTS', ls) == 0 then
    redis.call('HSET', ls, 'c0', 0, 'c1', 0, 'c2', 0, 'c3', 0, 'c' .. prov, 1, 'target', target)
    place(lane, ls, target, runAt, now)
  else
    recount(lane, -1, prov)
  end
  return 1, id
end

-- Jobs packed 8 fields each from ARGV[from]: dk id lane target batch payload sender conversation
local function add_jobs(from, count, now, settle_ms, cap, perMs)
  local out = {}
  local added = 0
  for i = 0, count - 1 do
    local b = from + i * 8
    local new, id = add_job(now, settle_ms, cap, perMs, ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4], ARGV[b + 5], ARGV[b + 6], ARGV[b + 7])
    out[#out + 1] = new
    out[#out + 1] = id
    added = added + new
  end
  if added > 0 then wake() end
  return out
end

-- Jobs leave their lane (done or dead): they no longer count for its class.
local function leave(lane, id)
  redis.call('LREM', lanekey(lane), 1, id)
  redis.call('ZREM', P .. ':pending', id)
  redis.call('ZREM', P .. ':unclassified', id)
  local cls = tonumber(redis.call('HGET', jobkey(id), 'cls'))
  if cls then redis.call('HINCRBY', lskey(lane), 'c' .. (cls % 10), -1) end
  if cls then tally(cls, -1) end
end

-- A job as the worker gets it: the fields TAKEN_FIELDS counts, its conversation's link last
-- ('-' not read: the job names no conversation; '' none yet; '+' there, not read: a job to
-- classify only needs to know whether its conversation has a ticket).
-- ('state' last: read with them, not handed out.)
local JOB_FIELDS = {'dk', 'lane', 'target', 'batch', 'payload', 'attempts', 'failures', 'ambiguous', 'createdAt', 'cls', 'throttled', 'conv', 'state'}
local function hand_out(out, id, f, whole)
  out[#out + 1] = id
  for k = 1, 11 do out[#out + 1] = f[k] or '' end
  if not f[12] or f[12] == '' then
    out[#out + 1] = '-'
  elseif whole then
    out[#out + 1] = redis.call('GET', P .. ':link:' .. f[12]) or ''
  else
    out[#out + 1] = redis.call('EXISTS', P .. ':link:' .. f[12]) == 1 and '+' or ''
  end
end

local function owns(worker, lane)
  return redis.call('HGET', lskey(lane), 'owner') == worker
end
`;

/** The ticket's latest conversation becomes `conv` unless one that is newer (`at`, Link.latestAt) is there. */
const SET_LATEST = `
local function set_latest(P, ticket, conv, at)
  local atKey = P .. ':ticket-at:' .. ticket
  if at < (tonumber(redis.call('GET', atKey)) or 0) then return end
  redis.call('MSET', P .. ':ticket:' .. ticket, conv, atKey, at)
end
`;

/** ARGV: P now settleMs floodCap floodPerMs count, then count × (dk id lane target batch payload sender conversation) → {new, id}… */
const ENQUEUE = `${LIB}
return commit(add_jobs(7, tonumber(ARGV[6]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])))
`;

/** Fields returned per taken job, and per job to classify (scripts.ts, hand_out). */
export const TAKEN_FIELDS = 13;

/**
 * One round of a worker, in one round trip:
 *   1. jobs it finished are removed, with what each delivery left written in the same step (the
 *      conversation's link, follow-up work); their lanes settle: next head, back of their class;
 *   2. classes it found are booked (a ready lane whose class rose moves up);
 *   3. due delayed lanes become ready; lanes of dead workers (lock expired) are taken back;
 *   4. it takes up to `free` ready lanes, most urgent class first, round-robin within a class,
 *      skipping paused targets, and marks their jobs started (attempts + 1, ambiguous);
 *   5. it is handed up to `classifyMax` jobs to classify, when there is a queue to order (more
 *      ready lanes than it takes). When the worker brought no classes and is handed jobs to
 *      classify, step 4 is skipped: it classifies first, then takes.
 *
 * ARGV: P worker now lockMs retentionMs free maxBatch classifyMax settleMs floodCap floodPerMs
 *       nDone (lane nIds ids… conversation ticketId latestAt linkJson nFollow follow-ups…)…  nClassified (id cls)…
 *       (linkJson '' when the delivery left no link; follow-ups packed as for ENQUEUE)
 * → {taken fields…, toClassify fields…, more (1: ready lanes are left), nextDue ('' none), the class of each taken lane}
 */
const STEP = `${LIB}${SET_LATEST}
local worker, now, lockMs, retention = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local free, maxBatch, classifyMax = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local settle_ms, cap, perMs = tonumber(ARGV[9]), tonumber(ARGV[10]), tonumber(ARGV[11])
local i = 12

-- 1. finished (a lane another worker took back meanwhile is left alone: that worker redoes it)
local nDone = tonumber(ARGV[i]); i = i + 1
for _ = 1, nDone do
  local lane, n = ARGV[i], tonumber(ARGV[i + 1])
  -- settled before its follow-ups are added: one of them may join this very lane
  local mine = finish(worker, lane, i + 2, n, now, retention)
  i = i + 2 + n
  local conv, ticket, latestAt, link, nFollow = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2]), ARGV[i + 3], tonumber(ARGV[i + 4])
  if mine then
    if link ~= '' then
      redis.call('SET', P .. ':link:' .. conv, link)
      set_latest(P, ticket, conv, latestAt)
    end
    add_jobs(i + 5, nFollow, now, settle_ms, cap, perMs)
  end
  i = i + 5 + nFollow * 8
end

-- 2. classified
local nClassified = tonumber(ARGV[i]); i = i + 1
for _ = 1, nClassified do
  local id, cls = ARGV[i], tonumber(ARGV[i + 1])
  i = i + 2
  redis.call('ZREM', P .. ':classifying', id)
  local f = redis.call('HMGET', jobkey(id), 'cls', 'lane', 'state')
  local cur = tonumber(f[1])
  if cur and cur >= 10 and f[3] == 'queued' then
    redis.call('HSET', jobkey(id), 'cls', cls)
    recount(f[2], cur - 10, cls)
    tally(cls, 1)
  end
end

-- 3. due and abandoned lanes
for _, lane in ipairs(redis.call('ZRANGEBYSCORE', P .. ':delayed', '-inf', now, 'LIMIT', 0, 500)) do
  redis.call('ZREM', P .. ':delayed', lane)
  local ls = lskey(lane)
  if redis.call('HGET', ls, 'where') == 'delayed' then to_ready(lane, ls, redis.call('HGET', ls, 'target')) end
end
for _, lane in ipairs(redis.call('ZRANGEBYSCORE', P .. ':running', '-inf', now, 'LIMIT', 0, 100)) do
  settle(lane, now)
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', P .. ':classifying', '-inf', now, 'LIMIT', 0, 500)) do
  redis.call('ZREM', P .. ':classifying', id)
  redis.call('ZADD', P .. ':unclassified', redis.call('INCR', P .. ':queued'), id)
end

-- The ready lanes that can be taken (their target is not paused).
local open = {}
local nextDue = nil
local readyTotal = 0
for _, t in ipairs(redis.call('SMEMBERS', P .. ':targets')) do
  local rk = P .. ':ready:' .. t
  local n = redis.call('ZCARD', rk)
  if n == 0 then
    redis.call('SREM', P .. ':targets', t)
    listed[t] = nil
  else
    readyTotal = readyTotal + n
    local pause = tonumber(redis.call('GET', P .. ':pause:' .. t) or '0')
    if pause > now then
      if not nextDue or pause < nextDue then nextDue = pause end
    else
      open[#open + 1] = rk
    end
  end
end

-- 5 (first: whether to take depends on it). Jobs to classify, with what the classifier needs,
-- only when lanes wait for workers: a job taken at once never needs a class.
local toClassify = {}
local contended = readyTotal > free
if classifyMax > 0 and contended then
  local popped = redis.call('ZPOPMIN', P .. ':unclassified', classifyMax)
  for k = 1, #popped, 2 do
    local id = popped[k]
    local f = redis.call('HMGET', jobkey(id), unpack(JOB_FIELDS))
    if f[13] == 'queued' and (tonumber(f[10]) or 0) >= 10 then
      redis.call('ZADD', P .. ':classifying', now + lockMs, id)
      hand_out(toClassify, id, f, false)
    end
  end
end
if nClassified == 0 and #toClassify > 0 then free = 0 end

-- 4. take
local taken = {}
local took = 0
local classes = {}
while took < free do
  local lane, bestScore = nil, nil
  if #open == 1 then
    -- one target open (the usual case): its first lane, in one command
    local first = redis.call('ZPOPMIN', open[1])
    lane, bestScore = first[1], tonumber(first[2])
  else
    local bestKey = nil
    for _, rk in ipairs(open) do
      local first = redis.call('ZRANGE', rk, 0, 0, 'WITHSCORES')
      if first[1] and (not bestScore or tonumber(first[2]) < bestScore) then bestKey, bestScore = rk, tonumber(first[2]) end
    end
    if bestKey then lane = redis.call('ZPOPMIN', bestKey)[1] end
  end
  if not lane then break end
  local cls = math.floor(bestScore / TURN_SPAN)
  -- the head alone, unless it is part of a batch: then the jobs behind it that are too
  local ids = redis.call('LRANGE', lanekey(lane), 0, 0)
  local batch = nil
  local running = {}
  for n = 1, maxBatch do
    local id = ids[n]
    if not id then break end
    -- a job behind the head goes along only in the head's batch: look at that before reading it all
    if n > 1 and redis.call('HGET', jobkey(id), 'batch') ~= batch then break end
    local f = redis.call('HMGET', jobkey(id), unpack(JOB_FIELDS))
    if n == 1 then
      batch = f[4]
      if batch and batch ~= '' then ids = redis.call('LRANGE', lanekey(lane), 0, maxBatch - 1) end
    end
    if not f[1] then break end
    redis.call('HSET', jobkey(id), 'attempts', (tonumber(f[6]) or 0) + 1, 'ambiguous', 1)
    running[#running + 1] = id
    hand_out(taken, id, f, true)
  end
  local ls = lskey(lane)
  if #running == 0 then
    -- a lane without a readable head: let it settle (drop ids whose record is gone)
    local head = ids[1]
    if head then redis.call('LPOP', lanekey(lane)) end
    settle(lane, now)
  else
    redis.call('HSET', ls, 'where', 'running', 'owner', worker)
    redis.call('ZADD', P .. ':running', now + lockMs, lane)
    took = took + 1
    classes[#classes + 1] = cls
  end
end

local more = 0
for _, rk in ipairs(open) do
  if redis.call('EXISTS', rk) == 1 then more = 1 end
end
if more == 1 and took > 0 then wake() end
if classifyMax > 0 and contended and redis.call('ZCARD', P .. ':unclassified') > 0 then wake() end
local firstDelayed = redis.call('ZRANGE', P .. ':delayed', 0, 0, 'WITHSCORES')
if firstDelayed[2] and (not nextDue or tonumber(firstDelayed[2]) < nextDue) then nextDue = tonumber(firstDelayed[2]) end
return commit({taken, toClassify, more, nextDue and tostring(nextDue) or '', classes})
`;

/**
 * ARGV: P worker lane id runAt failures ambiguous error detail status target pauseUntil now → 1, or 0 if
 * the lane is not this worker's any more. The lane waits until runAt; `pauseUntil` pauses the whole target.
 */
const RETRY = `${LIB}
local worker, lane, id, now = ARGV[2], ARGV[3], ARGV[4], tonumber(ARGV[13])
if not owns(worker, lane) then return 0 end
local k = jobkey(id)
if redis.call('EXISTS', k) == 1 then
  redis.call('HSET', k, 'runAt', ARGV[5], 'failures', ARGV[6], 'ambiguous', ARGV[7], 'error', ARGV[8], 'detail', ARGV[9], 'status', ARGV[10])
end
if ARGV[12] ~= '' then
  local pk = P .. ':pause:' .. ARGV[11]
  local untilMs = tonumber(ARGV[12])
  if untilMs > tonumber(redis.call('GET', pk) or '0') then
    redis.call('SET', pk, ARGV[12], 'PX', math.max(1, untilMs - now))
  end
end
settle(lane, now)
return commit(1)
`;

/**
 * Dead-letters jobs and enqueues the follow-up work in the same step.
 * ARGV: P worker lane now settleMs floodCap floodPerMs error detail status ambiguous nIds ids… nFollow follow-ups… → 1, or 0 if
 * the lane is not this worker's any more
 */
const KILL = `${LIB}
local worker, lane, now = ARGV[2], ARGV[3], tonumber(ARGV[4])
if not owns(worker, lane) then return 0 end
local n = tonumber(ARGV[12])
for i = 13, 12 + n do
  local id = ARGV[i]
  local k = jobkey(id)
  if redis.call('EXISTS', k) == 1 then
    leave(lane, id)
    redis.call('HSET', k, 'state', 'dead', 'error', ARGV[8], 'detail', ARGV[9], 'status', ARGV[10], 'ambiguous', ARGV[11], 'failedAt', now)
    redis.call('ZADD', P .. ':dead', now, id)
  end
end
add_jobs(14 + n, tonumber(ARGV[13 + n]), now, tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]))
settle(lane, now)
return commit(1)
`;

/** ARGV: P worker now lockMs lanes… Extends this worker's locks on the lanes it is delivering. */
const RENEW = `${LIB}
local worker, untilMs = ARGV[2], tonumber(ARGV[3]) + tonumber(ARGV[4])
for i = 5, #ARGV do
  if owns(worker, ARGV[i]) then redis.call('ZADD', P .. ':running', 'XX', untilMs, ARGV[i]) end
end
return 1
`;

/**
 * ARGV: P worker now nUnstarted (id attempts ambiguous)… lanes… A stopping worker hands its lanes
 * back; their jobs were marked ambiguous when taken. Jobs of lanes it took ahead and never started
 * get back the attempts and ambiguity they had: the next worker runs them as if never taken.
 */
const RELEASE = `${LIB}
local worker, now = ARGV[2], tonumber(ARGV[3])
local nUnstarted = tonumber(ARGV[4])
local first = 5 + nUnstarted * 3
for j = 5, first - 1, 3 do
  local lane = redis.call('HGET', jobkey(ARGV[j]), 'lane')
  if lane and owns(worker, lane) then redis.call('HSET', jobkey(ARGV[j]), 'attempts', ARGV[j + 1], 'ambiguous', ARGV[j + 2]) end
end
local n = 0
for i = first, #ARGV do
  if owns(worker, ARGV[i]) then
    settle(ARGV[i], now)
    n = n + 1
  end
end
if n > 0 then wake() end
return commit(n)
`;

/** ARGV: P now ('all' | ids…) → count. Back at the end of the lane, fresh attempts, the class they had. */
const REPLAY = `${LIB}
local now = tonumber(ARGV[2])
local ids = {}
if ARGV[3] == 'all' then ids = redis.call('ZRANGE', P .. ':dead', 0, -1) else for i = 3, #ARGV do ids[#ids + 1] = ARGV[i] end end
local count = 0
for _, id in ipairs(ids) do
  if redis.call('ZREM', P .. ':dead', id) == 1 then
    local k = jobkey(id)
    local f = redis.call('HMGET', k, 'lane', 'createdAt', 'cls', 'target')
    if f[1] then
      count = count + 1
      redis.call('HSET', k, 'state', 'queued', 'attempts', 0, 'failures', 0, 'ambiguous', 0, 'runAt', now)
      redis.call('HDEL', k, 'error', 'detail', 'status', 'failedAt')
      redis.call('RPUSH', lanekey(f[1]), id)
      redis.call('ZADD', P .. ':pending', tonumber(f[2]) or now, id)
      local cls = (tonumber(f[3]) or 12) % 10
      tally(tonumber(f[3]) or 12, 1)
      local ls = lskey(f[1])
      if redis.call('EXISTS', ls) == 0 then
        redis.call('HSET', ls, 'c0', 0, 'c1', 0, 'c2', 0, 'c3', 0, 'c' .. cls, 1, 'target', f[4])
        place(f[1], ls, f[4], now, now)
      else
        recount(f[1], -1, cls)
      end
    end
  end
end
if count > 0 then wake() end
return commit(count)
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

/** ARGV: P conversationKey ticketId json latestAt. A conversation's link, findable by every ticket it had. */
const LINK_PUT = `${SET_LATEST}
redis.call('SET', ARGV[1] .. ':link:' .. ARGV[2], ARGV[4])
set_latest(ARGV[1], ARGV[3], ARGV[2], tonumber(ARGV[5]))
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
  step: new LuaScript(STEP),
  retry: new LuaScript(RETRY),
  kill: new LuaScript(KILL),
  renew: new LuaScript(RENEW),
  release: new LuaScript(RELEASE),
  replay: new LuaScript(REPLAY),
  drop: new LuaScript(DROP),
  linkPut: new LuaScript(LINK_PUT),
  linkByTicket: new LuaScript(LINK_BY_TICKET),
  claimInWindow: new LuaScript(CLAIM_IN_WINDOW),
};
