import type { HelpdeskRateLimits, Logger, RateLimiter, RateSignal } from '../core/connector.ts';
import { currentClass } from './delivery-class.ts';

/**
 * The rate limiter in front of a helpdesk: requests are spaced evenly at the allowed rate (a
 * small burst may go at once after a quiet spell), and the helpdesk's own answers steer it:
 * a reported limit lower than ours slows it down, a `Retry-After` stops it for that long, and
 * a `remaining` count that runs out holds requests until the window resets (or, when the
 * helpdesk does not say when, lets one probe through per second until it does).
 *
 * Waiting requests go most urgent delivery first (see delivery-class.ts), in order within a class.
 *
 * This is the in-process implementation; a shared one (several gateway processes on one
 * account) implements the same `RateLimiter` interface.
 */

export interface RateLimiterOptions {
  requestsPerMinute: number;
  /** The rate is a default, not the admin's choice: a limit the helpdesk reports replaces it (up or down). */
  followReportedLimit?: boolean;
  /** Endpoints with a cap of their own, requests per minute, for an account allowed `requestsPerMinute`. */
  endpoints?(requestsPerMinute: number): Record<string, number>;
  /** Requests that may go at once after a quiet spell; default a tenth of a minute's worth (at least 2). */
  burst?: number;
  log?: Logger;
}

export interface InProcessRateLimiter extends RateLimiter {
  /** The rate in force now, requests per minute. */
  readonly requestsPerMinute: number;
}

const MINUTE_MS = 60_000;
/** With a spent budget and no reset time, one request per this long finds out whether the window reset. */
const PROBE_MS = 1000;

interface Waiter {
  cost: number;
  cls: number;
  resolve: () => void;
}

/** One paced stream of requests: the account's, or one endpoint's. */
class Pace {
  #intervalMs = 0;
  #toleranceMs = 0;
  #burst: number | undefined;
  /** When the next request would be due if requests went exactly at the rate (GCRA). */
  #dueAt = 0;
  #blockedUntil = 0;
  /** Requests the helpdesk still allows in its window, less ours in flight; undefined when unknown. */
  #budget: number | undefined;
  #budgetResetsAt: number | undefined;
  #probeAt = 0;
  #inFlight = 0;
  readonly #queue: Waiter[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(perMinute: number, burst: number | undefined) {
    this.#burst = burst;
    this.setRate(perMinute);
  }

  setRate(perMinute: number): void {
    this.#intervalMs = MINUTE_MS / perMinute;
    const burst = this.#burst ?? Math.max(2, Math.ceil(perMinute / 10));
    // A tolerance of at least one slot also lets a late timer catch up instead of losing the slot.
    this.#toleranceMs = (Math.max(2, burst) - 1) * this.#intervalMs;
    this.#pump();
  }

  take(cost: number): Promise<void> {
    return new Promise((resolve) => {
      const cls = currentClass();
      // Behind every waiter of its class or a more urgent one, ahead of the rest.
      const at = this.#queue.findIndex((w) => w.cls > cls);
      this.#queue.splice(at === -1 ? this.#queue.length : at, 0, { cost, cls, resolve });
      this.#pump();
    });
  }

  observe(signal: RateSignal, now: number): void {
    this.#inFlight = Math.max(0, this.#inFlight - 1);
    if (signal.retryAfterMs !== undefined) {
      this.#blockedUntil = Math.max(this.#blockedUntil, now + signal.retryAfterMs);
      this.#budget = undefined;
    } else if (signal.limited) {
      // Refused without a time to wait: treat the window as spent and probe.
      this.#spend(now);
    }
    if (signal.remaining !== undefined && signal.retryAfterMs === undefined) {
      this.#budget = signal.remaining - this.#inFlight;
      this.#budgetResetsAt = signal.resetMs !== undefined ? now + signal.resetMs : undefined;
      if (this.#budget < 1 && this.#budgetResetsAt === undefined) this.#probeAt = Math.max(this.#probeAt, now + PROBE_MS);
    }
    this.#pump();
  }

  #spend(now: number): void {
    this.#budget = 0;
    this.#budgetResetsAt = undefined;
    this.#probeAt = Math.max(this.#probeAt, now + PROBE_MS);
  }

  #readyAt(cost: number): number {
    let at = Math.max(this.#blockedUntil, this.#dueAt - this.#toleranceMs);
    if (this.#budget !== undefined && this.#budget < cost) {
      const reset = this.#budgetResetsAt;
      at = Math.max(at, reset ?? this.#probeAt);
    }
    return at;
  }

  #release(cost: number, now: number): void {
    this.#dueAt = Math.max(this.#dueAt, now) + cost * this.#intervalMs;
    this.#inFlight += 1;
    if (this.#budget === undefined) return;
    if (this.#budgetResetsAt !== undefined && now >= this.#budgetResetsAt) {
      // The window the budget belonged to is over; the next answer tells the new one.
      this.#budget = undefined;
      return;
    }
    this.#budget -= cost;
    if (this.#budget < 1 && this.#budgetResetsAt === undefined) this.#probeAt = now + PROBE_MS;
  }

  #pump = (): void => {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const now = Date.now();
    while (this.#queue.length > 0) {
      const head = this.#queue[0]!;
      const at = this.#readyAt(head.cost);
      if (at > now) {
        this.#timer = setTimeout(this.#pump, at - now);
        return;
      }
      this.#queue.shift();
      this.#release(head.cost, now);
      head.resolve();
    }
  };
}

export function createRateLimiter(opts: RateLimiterOptions): InProcessRateLimiter {
  const configured = opts.requestsPerMinute;
  let rate = configured;
  const account = new Pace(rate, opts.burst);
  const endpoints = new Map(Object.entries(opts.endpoints?.(rate) ?? {}).map(([name, perMinute]) => [name, new Pace(perMinute, opts.burst)]));

  function adopt(limit: number): void {
    const next = opts.followReportedLimit ? limit : Math.min(configured, limit);
    if (next === rate) return;
    opts.log?.info({ from: rate, to: next, reported: limit }, 'helpdesk reports its rate limit; pacing requests to it');
    rate = next;
    account.setRate(rate);
    // Endpoint caps scale with the account's plan.
    for (const [name, perMinute] of Object.entries(opts.endpoints?.(rate) ?? {})) endpoints.get(name)?.setRate(perMinute);
  }

  return {
    get requestsPerMinute() {
      return rate;
    },
    async acquire(cost = 1, endpoint) {
      const own = endpoint === undefined ? undefined : endpoints.get(endpoint);
      if (own) await own.take(cost);
      await account.take(cost);
    },
    observe(signal) {
      if (signal.limit !== undefined && Number.isFinite(signal.limit) && signal.limit > 0) adopt(Math.floor(signal.limit));
      account.observe(signal, Date.now());
    },
  };
}

/**
 * The limiter for a helpdesk: `requestsPerMinute` from its options when set (never exceeded),
 * else the helpdesk's documented default, which the limit it reports then replaces.
 */
export function helpdeskLimiter(
  limits: HelpdeskRateLimits | undefined,
  options: { requestsPerMinute?: number },
  log?: Logger,
  /** Builds the limiter from the policy; a runtime shared by several processes passes its shared one. */
  make: (opts: RateLimiterOptions) => RateLimiter = createRateLimiter,
): RateLimiter | undefined {
  if (!limits && options.requestsPerMinute === undefined) return undefined;
  const requestsPerMinute = options.requestsPerMinute ?? limits!.requestsPerMinute;
  return make({
    requestsPerMinute,
    followReportedLimit: options.requestsPerMinute === undefined,
    endpoints: limits?.endpoints,
    log,
  });
}
