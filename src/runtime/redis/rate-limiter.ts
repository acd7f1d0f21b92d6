import type { Redis } from 'ioredis';
import type { RateLimiter, RateSignal } from '../../core/connector.ts';
import { CLASS_COUNT } from '../classes.ts';
import { currentClass } from '../delivery-class.ts';
import type { RateLimiterOptions } from '../rate-limiter.ts';
import { LuaScript } from './scripts.ts';

/**
 * The helpdesk rate limiter shared by every gateway process on one Redis: the same rules as
 * the in-process limiter (src/runtime/rate-limiter.ts): requests spaced at the rate with a
 * small burst (GCRA), a Retry-After stops everyone, a spent `remaining` holds requests until
 * the window resets (or probes once a second), a reported limit is adopted. The state is one
 * Redis hash per paced stream, changed only by the two scripts below, so N processes
 * together stay within one account's limit.
 */

const MINUTE_MS = 60_000;
const PROBE_MS = 1000;
/** Longest single sleep before asking again (a Retry-After seen elsewhere may end sooner). */
const MAX_SLEEP_MS = 1000;
/** State of a stream nobody used for this long is dropped (leaked in-flight counts with it). */
const IDLE_TTL_MS = 10 * MINUTE_MS;

const PACE = `
local function pace(rate, burstOpt)
  local interval = 60000 / rate
  local burst = tonumber(burstOpt) or math.max(2, math.ceil(rate / 10))
  return interval, (math.max(2, burst) - 1) * interval
end
`;

/**
 * ARGV: key now cost configuredRate burst('' = default) probeMs ttlMs
 * → {0, rate} granted | {waitMs, rate}
 */
const ACQUIRE = new LuaScript(`${PACE}
local k, now, cost = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local h = redis.call('HMGET', k, 'due', 'blocked', 'budget', 'resets', 'probe', 'inflight', 'rate', 'cfg')
-- An adopted rate holds only while the configured one it came from is still the configuration.
local rate = tonumber(ARGV[4])
if h[8] == ARGV[4] and tonumber(h[7]) then rate = tonumber(h[7]) end
local interval, tolerance = pace(rate, ARGV[5])
local due, blocked, budget, resets = tonumber(h[1]) or 0, tonumber(h[2]) or 0, tonumber(h[3]), tonumber(h[4])
local probe, inflight = tonumber(h[5]) or 0, tonumber(h[6]) or 0
local at = math.max(blocked, due - tolerance)
if budget and budget < cost then at = math.max(at, resets or probe) end
if at > now then return {math.ceil(at - now), tostring(rate)} end
due = math.max(due, now) + cost * interval
inflight = inflight + 1
if budget then
  if resets and now >= resets then
    budget = nil
  else
    budget = budget - cost
    if budget < 1 and not resets then probe = now + tonumber(ARGV[6]) end
  end
end
redis.call('HSET', k, 'due', due, 'inflight', inflight, 'probe', probe)
if budget then redis.call('HSET', k, 'budget', budget) else redis.call('HDEL', k, 'budget', 'resets') end
redis.call('PEXPIRE', k, ARGV[7])
return {0, tostring(rate)}
`);

/**
 * ARGV: key now probeMs retryAfterMs limited remaining resetMs limit configuredRate follow ttlMs
 * ('' where the helpdesk said nothing) → the rate in force.
 */
const OBSERVE = new LuaScript(`
local k, now, probeMs = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local h = redis.call('HMGET', k, 'blocked', 'probe', 'inflight', 'rate', 'cfg')
local blocked, probe = tonumber(h[1]) or 0, tonumber(h[2]) or 0
local inflight = math.max(0, (tonumber(h[3]) or 0) - 1)
local configured = tonumber(ARGV[9])
local rate = configured
if h[5] == ARGV[9] and tonumber(h[4]) then rate = tonumber(h[4]) end
local limit = tonumber(ARGV[8])
if limit and limit > 0 then
  limit = math.floor(limit)
  if ARGV[10] == '1' then rate = limit else rate = math.min(configured, limit) end
end
redis.call('HSET', k, 'inflight', inflight, 'rate', rate, 'cfg', ARGV[9])
local retryAfter, remaining, resetMs = tonumber(ARGV[4]), tonumber(ARGV[6]), tonumber(ARGV[7])
if retryAfter then
  blocked = math.max(blocked, now + retryAfter)
  redis.call('HSET', k, 'blocked', blocked)
  redis.call('HDEL', k, 'budget', 'resets')
elseif ARGV[5] == '1' then
  redis.call('HSET', k, 'budget', 0, 'probe', math.max(probe, now + probeMs))
  redis.call('HDEL', k, 'resets')
end
if remaining and not retryAfter then
  local budget = remaining - inflight
  redis.call('HSET', k, 'budget', budget)
  if resetMs then
    redis.call('HSET', k, 'resets', now + resetMs)
  else
    redis.call('HDEL', k, 'resets')
    if budget < 1 then redis.call('HSET', k, 'probe', math.max(probe, now + probeMs)) end
  end
end
redis.call('PEXPIRE', k, ARGV[11])
return tostring(rate)
`);

export interface SharedRateLimiter extends RateLimiter {
  /** The rate in force as last seen from Redis, requests per minute. */
  readonly requestsPerMinute: number;
}

const opt = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '' : String(v));

/**
 * Within one process, a request asks Redis for its turn only while no more urgent delivery of
 * this process is waiting for one (see delivery-class.ts): the urgent one gets the next slot.
 */
class LocalOrder {
  private readonly waiting = new Array<number>(CLASS_COUNT).fill(0);
  private wakers: (() => void)[] = [];

  enter(cls: number): void {
    this.waiting[cls]!++;
  }

  async turn(cls: number): Promise<void> {
    while (this.waiting.some((n, c) => c < cls && n > 0)) await new Promise<void>((r) => this.wakers.push(r));
  }

  leave(cls: number): void {
    this.waiting[cls]!--;
    const wakers = this.wakers;
    this.wakers = [];
    for (const wake of wakers) wake();
  }
}

export function createSharedRateLimiter(redis: Redis, key: string, opts: RateLimiterOptions): SharedRateLimiter {
  const configured = opts.requestsPerMinute;
  let rate = configured;
  const burst = opt(opts.burst);
  const order = new LocalOrder();

  async function take(streamKey: string, cost: number, perMinute: () => number): Promise<void> {
    const cls = currentClass();
    order.enter(cls);
    try {
      for (;;) {
        await order.turn(cls);
        const [wait, current] = (await ACQUIRE.run(redis, [streamKey, Date.now(), cost, perMinute(), burst, PROBE_MS, IDLE_TTL_MS])) as [number, string];
        if (streamKey === key) rate = Number(current);
        if (Number(wait) <= 0) return;
        // A little jitter so processes that wait for the same moment do not all ask at once.
        await new Promise((r) => setTimeout(r, Math.min(Number(wait), MAX_SLEEP_MS) + Math.random() * 5));
      }
    } finally {
      order.leave(cls);
    }
  }

  return {
    get requestsPerMinute() {
      return rate;
    },
    async acquire(cost = 1, endpoint) {
      const cap = endpoint === undefined ? undefined : opts.endpoints?.(rate)[endpoint];
      // Endpoint caps scale with the account's rate; they are paced in a stream of their own.
      if (cap !== undefined) await take(`${key}:endpoint:${endpoint}`, cost, () => opts.endpoints?.(rate)[endpoint!] ?? cap);
      await take(key, cost, () => configured);
    },
    observe(signal: RateSignal) {
      void OBSERVE.run(redis, [
        key,
        Date.now(),
        PROBE_MS,
        opt(signal.retryAfterMs),
        signal.limited ? '1' : '0',
        opt(signal.remaining),
        opt(signal.resetMs),
        opt(signal.limit),
        configured,
        opts.followReportedLimit ? '1' : '0',
        IDLE_TTL_MS,
      ]).then(
        (next) => {
          const adopted = Number(next);
          if (adopted !== rate) opts.log?.info({ from: rate, to: adopted, reported: signal.limit }, 'helpdesk reports its rate limit; every process paces requests to it');
          rate = adopted;
        },
        (err: unknown) => opts.log?.warn({ error: err instanceof Error ? err.message : String(err) }, 'could not record the helpdesk\'s rate signal'),
      );
    },
  };
}
