export interface IngressShareOptions {
  /** Deliveries in this process are moving (they need turns of the event loop too). */
  busy(): boolean;
  /** Webhook handling may take this share of the rest of the previous turn … */
  share?: number;
  /** … but at least this much CPU time a turn (ms), so acks keep flowing while deliveries only wait … */
  minBudgetMs?: number;
  /** … and at most this much, so turns stay short: each step of a delivery waits for a turn. */
  maxBudgetMs?: number;
}

/**
 * Deliveries in flight that have neither started nor finished anything for this long are waiting
 * on the remote side (a helpdesk that hangs), not on this process: they need no share of it.
 */
export const IDLE_DELIVERIES_AFTER_MS = 250;

/** CPU time of this thread, ms: what the event loop actually spent, not time the machine gave to others. */
const cpuMs = (): number => {
  const u = process.threadCpuUsage();
  return (u.user + u.system) / 1000;
};

/**
 * Shares the event loop between taking webhooks in and delivering them. Without it, one turn
 * of the loop handles every request that arrived (50 connections: 50 handlers) while a delivery
 * needs several turns (store, helpdesk, store), so deliveries crawl while a storm lasts (4–6%
 * of the ack rate, measured). While deliveries are in flight, the webhook handlers of a turn
 * get a budget of CPU time: `share` times what the rest of the previous turn used, between
 * `minBudgetMs` and `maxBudgetMs`; requests over it wait for the next turn. A channel's
 * connection that waits sends its next webhook later, so acks slow and deliveries keep their
 * share. With no delivery moving (none in flight, or all waiting on a remote side that does not
 * answer) nothing waits.
 *
 * Time is the thread's CPU time, so a process that the machine sets aside for a while does not
 * count that as work. A handler's cost is measured between two immediates: one released in an
 * immediate runs its synchronous part (parse, verify, normalize, queue its write) in the
 * microtasks before the next immediate.
 */
export class IngressShare {
  private readonly waiting: (() => void)[] = [];
  private readonly share: number;
  private readonly minBudgetMs: number;
  private readonly maxBudgetMs: number;
  private readonly busy: () => boolean;
  private turnScheduled = false;
  /** CPU time when the gate's part of the last turn ended. */
  private lastEnd: number | undefined;

  constructor(opts: IngressShareOptions) {
    this.busy = opts.busy;
    this.share = opts.share ?? 1;
    this.minBudgetMs = opts.minBudgetMs ?? 0.5;
    this.maxBudgetMs = opts.maxBudgetMs ?? 2;
  }

  /** Resolves when a webhook may be handled; undefined (go ahead) when nothing needs sharing. */
  admit(): Promise<void> | undefined {
    if (this.waiting.length === 0 && !this.busy()) return undefined;
    return new Promise<void>((resolve) => {
      this.waiting.push(resolve);
      this.scheduleTurn();
    });
  }

  /**
   * The next turn's part: immediates queued together run back to back in one check phase, with
   * the microtasks of each (a released handler's synchronous part) run before the next. Queued
   * from a check phase they run in the next turn, so the gate's part of each turn is queued by
   * the one before, with room for the requests that arrive meanwhile.
   */
  private scheduleTurn(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    let start = 0;
    let budget = Infinity;
    let released = 0;
    const release = () => {
      if (this.waiting.length === 0 || (released > 0 && cpuMs() - start >= budget)) return;
      released++;
      this.waiting.shift()!();
    };
    setImmediate(() => {
      start = cpuMs();
      if (this.busy() && this.lastEnd !== undefined) {
        budget = Math.min(this.maxBudgetMs, Math.max(this.minBudgetMs, (start - this.lastEnd) * this.share));
      }
      release();
    });
    for (let i = 1; i < Math.min(this.waiting.length + 64, 512); i++) setImmediate(release);
    setImmediate(() => {
      this.turnScheduled = false;
      if (this.waiting.length > 0) {
        this.lastEnd = cpuMs();
        this.scheduleTurn();
      } else this.lastEnd = undefined;
    });
  }
}
