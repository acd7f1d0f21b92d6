import type { Redis } from 'ioredis';
import type { RateLimiter, RateSignal } from '../../core/connector.ts';
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

// Times are Redis' own clock: every process paces against the same one, whatever their clocks say.
const PACE = `
local function clock()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local function pace(rate, burstOpt)
  local interval = 60000 / rate
  local burst = tonumber(burstOpt) or math.max(2, math.ceil(rate / 10))
  return interval, (math.max(2, burst) - 1) * interval
end
`;

/**
 * Grants up to `want` slots, each at the earliest moment the pace allows, as long as that is
 * within `horizonMs` from now; the caller sends each request at its slot's time.
 * ARGV: key want configuredRate burst('' = default) probeMs ttlMs horizonMs
 * → {waitMs (when none is granted), rate, slot offsets from now (ms)...}
 */
const RESERVE = new LuaScript(`${PACE}
local k, now, want = ARGV[1], clock(), tonumber(ARGV[2])
local h = redis.call('HMGET', k, 'due', 'blocked', 'budget', 'resets', 'probe', 'inflight', 'rate', 'cfg')
-- An adopted rate holds only while the configured one it came from is still the configuration.
local rate = tonumber(ARGV[3])
if h[8] == ARGV[3] and tonumber(h[7]) then rate = tonumber(h[7]) end
local interval, tolerance = pace(rate, ARGV[4])
local due, blocked, budget, resets = tonumber(h[1]) or 0, tonumber(h[2]) or 0, tonumber(h[3]), tonumber(h[4])
local probe, inflight = tonumber(h[5]) or 0, tonumber(h[6]) or 0
local horizon = now + tonumber(ARGV[7])
local out, at = {0, tostring(rate)}, 0
while #out - 2 < want do
  at = math.max(blocked, due - tolerance)
  if budget and budget < 1 then at = math.max(at, resets or probe) end
  if at > horizon then break end
  local t = math.max(at, now)
  due = math.max(due, t) + interval
  inflight = inflight + 1
  out[#out + 1] = math.ceil(t - now)
  if budget then
    if resets and t >= resets then
      budget = nil
    else
      budget = budget - 1
      if budget < 1 and not resets then probe = t + tonumber(ARGV[5]) end
    end
  end
end
if #out == 2 then
  out[1] = math.ceil(at - now)
  return out
end
redis.call('HSET', k, 'due', due, 'inflight', inflight, 'probe', probe)
if budget then redis.call('HSET', k, 'budget', budget) else redis.call('HDEL', k, 'budget', 'resets') end
redis.call('PEXPIRE', k, ARGV[6])
return out
`);

/**
 * ARGV: key probeMs retryAfterMs limited remaining resetMs limit configuredRate follow ttlMs answered
 * ('' where the helpdesk said nothing; `answered`: requests no longer in flight) → the rate in force.
 */
const OBSERVE = new LuaScript(`${PACE}
local k, now, probeMs = ARGV[1], clock(), tonumber(ARGV[2])
local h = redis.call('HMGET', k, 'blocked', 'probe', 'inflight', 'rate', 'cfg')
local blocked, probe = tonumber(h[1]) or 0, tonumber(h[2]) or 0
local inflight = math.max(0, (tonumber(h[3]) or 0) - tonumber(ARGV[11]))
local configured = tonumber(ARGV[8])
local rate = configured
if h[5] == ARGV[8] and tonumber(h[4]) then rate = tonumber(h[4]) end
local limit = tonumber(ARGV[7])
if limit and limit > 0 then
  limit = math.floor(limit)
  if ARGV[9] == '1' then rate = limit else rate = math.min(configured, limit) end
end
redis.call('HSET', k, 'inflight', inflight, 'rate', rate, 'cfg', ARGV[8])
local retryAfter, remaining, resetMs = tonumber(ARGV[3]), tonumber(ARGV[5]), tonumber(ARGV[6])
if retryAfter then
  blocked = math.max(blocked, now + retryAfter)
  redis.call('HSET', k, 'blocked', blocked)
  redis.call('HDEL', k, 'budget', 'resets')
elseif ARGV[4] == '1' then
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
redis.call('PEXPIRE', k, ARGV[10])
return tostring(rate)
`);

export interface SharedRateLimiter extends RateLimiter {
  /** The rate in force as last seen from Redis, requests per minute. */
  readonly requestsPerMinute: number;
}

const opt = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '' : String(v));

/**
 * How far ahead a process reserves slots: those due within RESERVE_MS, for the requests waiting
 * and for as many more as the rate allows in that time (at most RESERVE_MAX; below 3,000
 * requests a minute, every helpdesk plan, none more). A slot not used within RESERVE_MS of its
 * time lapses, so a Retry-After another process got holds this one back within that time.
 */
const RESERVE_MS = 20;
const RESERVE_MAX = 16;

interface Waiter {
  cls: number;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * One paced stream (the account's, or an endpoint's) as this process sees it: requests wait here
 * in class order (the most urgent delivery first, in order within a class, see delivery-class.ts);
 * those waiting at once ask Redis together, in one script call, for their slots and a few more,
 * and each goes at its slot's time. A request that finds a slot reserved goes without asking.
 */
class Stream {
  private readonly waiters: Waiter[] = [];
  /** Reserved slots, this process' clock (ms), in order. */
  private slots: number[] = [];
  private asking = false;
  private soon = false;
  /** Redis said to ask again no sooner than this. */
  private askAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly ask: (want: number) => Promise<{ waitMs: number; offsets: number[] }>;
  private readonly ahead: () => number;
  /** Reserved slots given up unused: still counted in flight in Redis until reported. */
  private readonly unused: (n: number) => void;

  constructor(ask: Stream['ask'], ahead: Stream['ahead'], unused: Stream['unused']) {
    this.ask = ask;
    this.ahead = ahead;
    this.unused = unused;
  }

  take(): Promise<void> {
    return new Promise((resolve, reject) => {
      const cls = currentClass();
      const at = this.waiters.findIndex((w) => w.cls > cls);
      this.waiters.splice(at === -1 ? this.waiters.length : at, 0, { cls, resolve, reject });
      // After the current turn, so the requests made in it ask together (and in class order).
      if (!this.soon) {
        this.soon = true;
        queueMicrotask(() => {
          this.soon = false;
          this.pump();
        });
      }
    });
  }

  /** Reserved slots are given up (a Retry-After or a refusal seen here). */
  drop(): void {
    if (this.slots.length > 0) this.unused(this.slots.length);
    this.slots = [];
  }

  private pump(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const now = Date.now();
    while (this.slots.length > 0 && this.slots[0]! <= now && this.waiters.length > 0) {
      this.slots.shift();
      this.waiters.shift()!.resolve();
    }
    // Slots nobody came for in time lapse (a request that waited for one may go late, never early).
    let lapsed = 0;
    while (this.slots.length > 0 && this.slots[0]! < now - RESERVE_MS) {
      this.slots.shift();
      lapsed++;
    }
    if (lapsed > 0) this.unused(lapsed);
    if (this.waiters.length === 0) return;
    const short = this.waiters.length - this.slots.length;
    if (short > 0 && !this.asking && now >= this.askAt) {
      this.asking = true;
      this.ask(short + this.ahead()).then(
        ({ waitMs, offsets }) => {
          this.asking = false;
          const at = Date.now();
          this.slots.push(...offsets.map((o) => at + o));
          // A little jitter so processes that wait for the same moment do not all ask at once.
          if (offsets.length === 0) this.askAt = at + Math.min(waitMs, MAX_SLEEP_MS) + Math.random() * 5;
          this.pump();
        },
        (err: unknown) => {
          this.asking = false;
          for (const w of this.waiters.splice(0)) w.reject(err);
        },
      );
    }
    // Then at the next slot, or when Redis may be asked again.
    const next = Math.min(this.slots[0] ?? Infinity, short > 0 && !this.asking ? this.askAt : Infinity);
    if (next !== Infinity) this.timer = setTimeout(() => this.pump(), Math.max(0, next - now));
  }
}

/** The helpdesk's answers, gathered while the last report is on its way: one script call for all. */
interface Answers {
  answered: number;
  retryAfterMs?: number;
  limited: boolean;
  remaining?: number;
  resetMs?: number;
  limit?: number;
}

function gather(into: Answers | undefined, signal: RateSignal): Answers {
  const a: Answers = into ?? { answered: 0, limited: false };
  a.answered++;
  if (signal.retryAfterMs !== undefined) a.retryAfterMs = Math.max(a.retryAfterMs ?? 0, signal.retryAfterMs);
  if (signal.limited) a.limited = true;
  // A count read before a later refusal says nothing any more (as when they are recorded one by one).
  if (signal.retryAfterMs !== undefined || signal.limited) a.remaining = a.resetMs = undefined;
  if (signal.remaining !== undefined) {
    a.remaining = signal.remaining;
    a.resetMs = signal.resetMs;
  }
  if (signal.limit !== undefined) a.limit = signal.limit;
  return a;
}

export function createSharedRateLimiter(redis: Redis, key: string, opts: RateLimiterOptions): SharedRateLimiter {
  const configured = opts.requestsPerMinute;
  let rate = configured;
  const burst = opt(opts.burst);
  let lapsed = 0;
  const streams = new Map<string, Stream>();

  function stream(streamKey: string, perMinute: () => number): Stream {
    let s = streams.get(streamKey);
    if (!s) {
      s = new Stream(
        async (want) => {
          const [waitMs, current, ...offsets] = (await RESERVE.run(redis, [streamKey, want, perMinute(), burst, PROBE_MS, IDLE_TTL_MS, RESERVE_MS])) as [number, string, ...number[]];
          if (streamKey === key) rate = Number(current);
          return { waitMs: Number(waitMs), offsets: offsets.map(Number) };
        },
        () => Math.min(RESERVE_MAX, Math.floor(((streamKey === key ? rate : perMinute()) * RESERVE_MS) / MINUTE_MS)),
        (n) => {
          // Only the account's stream is told of answers (and so keeps count of what is in flight).
          if (streamKey === key) lapsed += n;
        },
      );
      streams.set(streamKey, s);
    }
    return s;
  }
  const account = stream(key, () => configured);

  let answers: Answers | undefined;
  let reporting = false;
  async function report(): Promise<void> {
    reporting = true;
    while (answers) {
      const a = answers;
      answers = undefined;
      const unused = lapsed;
      lapsed = 0;
      try {
        const next = await OBSERVE.run(redis, [
          key,
          PROBE_MS,
          opt(a.retryAfterMs),
          a.limited ? '1' : '0',
          opt(a.remaining),
          opt(a.resetMs),
          opt(a.limit),
          configured,
          opts.followReportedLimit ? '1' : '0',
          IDLE_TTL_MS,
          a.answered + unused,
        ]);
        const adopted = Number(next);
        if (adopted !== rate) opts.log?.info({ from: rate, to: adopted, reported: a.limit }, 'helpdesk reports its rate limit; every process paces requests to it');
        rate = adopted;
      } catch (err) {
        opts.log?.warn({ error: err instanceof Error ? err.message : String(err) }, 'could not record the helpdesk\'s rate signal');
      }
    }
    reporting = false;
  }

  return {
    get requestsPerMinute() {
      return rate;
    },
    async acquire(cost = 1, endpoint) {
      const cap = endpoint === undefined ? undefined : opts.endpoints?.(rate)[endpoint];
      for (let unit = 0; unit < cost; unit++) {
        // Endpoint caps scale with the account's rate; they are paced in a stream of their own.
        if (cap !== undefined) await stream(`${key}:endpoint:${endpoint}`, () => opts.endpoints?.(rate)[endpoint!] ?? cap).take();
        await account.take();
      }
    },
    observe(signal: RateSignal) {
      // Refused: what this process kept goes back at once; the pause reaches the others through Redis.
      if (signal.retryAfterMs !== undefined || signal.limited) for (const s of streams.values()) s.drop();
      answers = gather(answers, signal);
      if (!reporting) void report();
    },
  };
}
