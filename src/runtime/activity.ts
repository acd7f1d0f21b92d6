import type { RateLimiter, RateSignal } from '../core/connector.ts';
import { HELPDESK_TARGET } from '../core/jobs.ts';
import type { FailureNote, JobOutcome, WorkerEvents } from './runtime.ts';

/**
 * What this process saw happen, for the console: per channel the last message in and out and
 * the last error, the helpdesk's last answer and rate budget, recent retries. In memory only:
 * a restart starts afresh (the store keeps what must survive; this is only "what is going on").
 */

export interface ErrorNote {
  at: number;
  /** The remote side's words or the channel's own status, verbatim. */
  text: string;
  status?: number;
}

export interface ChannelActivity {
  lastInAt?: number;
  lastOutAt?: number;
  lastError?: ErrorNote;
}

export interface HelpdeskActivity {
  lastOkAt?: number;
  lastError?: ErrorNote;
  /** The helpdesk's own rate headers from its latest answer that had them. */
  budget?: { limit?: number; remaining?: number; resetMs?: number; at: number };
  /** It asked us to wait (Retry-After) until then. */
  pausedUntil?: number;
}

export interface ActivitySnapshot {
  channels: Record<string, ChannelActivity>;
  helpdesk: HelpdeskActivity;
  retriesLastHour: number;
  lastRetry?: ErrorNote & { target: string };
}

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

export class Activity {
  readonly #channels = new Map<string, ChannelActivity>();
  readonly #helpdesk: HelpdeskActivity = {};
  /** Retries per minute over the last hour: [minute, count] pairs, oldest first. */
  readonly #retryMinutes: [number, number][] = [];
  #lastRetry: (ErrorNote & { target: string }) | undefined;
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  #channel(id: string): ChannelActivity {
    let c = this.#channels.get(id);
    if (!c) this.#channels.set(id, (c = {}));
    return c;
  }

  /** A customer message was accepted on the channel. */
  inbound(channelId: string): void {
    this.#channel(channelId).lastInAt = this.#now();
  }

  /** Something the channel reports (its status while not ready) or a send that failed. */
  channelError(channelId: string, text: string, status?: number): void {
    const c = this.#channel(channelId);
    // A status read on every refresh is one error, not a new one each time.
    if (c.lastError?.text === text) return;
    c.lastError = { at: this.#now(), text, ...(status === undefined ? {} : { status }) };
  }

  /** The result of a credentials check run from the console. */
  helpdeskChecked(error?: string): void {
    if (error === undefined) this.#helpdesk.lastOkAt = this.#now();
    else this.#helpdesk.lastError = { at: this.#now(), text: error };
  }

  readonly events: WorkerEvents = {
    delivered: (job) => {
      const now = this.#now();
      if (job.target === HELPDESK_TARGET) this.#helpdesk.lastOkAt = now;
      const channel = channelOfTarget(job.target);
      if (channel) this.#channel(channel).lastOutAt = now;
    },
    retried: (job, reason, delayMs, failure) => {
      this.#failed(job, failure);
      if (reason === 'rate_limited' && job.target === HELPDESK_TARGET) this.#helpdesk.pausedUntil = this.#now() + delayMs;
      const minute = Math.floor(this.#now() / MINUTE_MS);
      const last = this.#retryMinutes.at(-1);
      if (last && last[0] === minute) last[1]++;
      else this.#retryMinutes.push([minute, 1]);
      while (this.#retryMinutes.length > 0 && this.#retryMinutes[0]![0] <= minute - 60) this.#retryMinutes.shift();
      if (failure) this.#lastRetry = { at: this.#now(), text: failure.message, target: job.target, ...(failure.status === undefined ? {} : { status: failure.status }) };
    },
    deadLettered: (job, _reason, failure) => this.#failed(job, failure),
  };

  #failed(job: JobOutcome, failure: FailureNote | undefined): void {
    if (!failure) return;
    const note: ErrorNote = { at: this.#now(), text: failure.message, ...(failure.status === undefined ? {} : { status: failure.status }) };
    if (job.target === HELPDESK_TARGET) this.#helpdesk.lastError = note;
    const channel = channelOfTarget(job.target);
    if (channel) this.#channel(channel).lastError = note;
  }

  /** The same limiter, with the helpdesk's rate headers remembered for the console. */
  watchLimiter(limiter: RateLimiter): RateLimiter {
    return {
      acquire: (cost, endpoint) => limiter.acquire(cost, endpoint),
      observe: (signal: RateSignal) => {
        if (signal.limit !== undefined || signal.remaining !== undefined) {
          this.#helpdesk.budget = { limit: signal.limit, remaining: signal.remaining, resetMs: signal.resetMs, at: this.#now() };
        }
        if (signal.retryAfterMs !== undefined) this.#helpdesk.pausedUntil = this.#now() + signal.retryAfterMs;
        limiter.observe(signal);
      },
    };
  }

  snapshot(): ActivitySnapshot {
    const since = Math.floor((this.#now() - HOUR_MS) / MINUTE_MS);
    return {
      channels: Object.fromEntries([...this.#channels].map(([id, c]) => [id, { ...c }])),
      helpdesk: { ...this.#helpdesk },
      retriesLastHour: this.#retryMinutes.filter(([m]) => m > since).reduce((n, [, c]) => n + c, 0),
      ...(this.#lastRetry ? { lastRetry: { ...this.#lastRetry } } : {}),
    };
  }
}

function channelOfTarget(target: string): string | undefined {
  return target.startsWith('channel:') ? target.slice('channel:'.length) : undefined;
}
