import { performance } from 'node:perf_hooks';

export interface IngressShareOptions {
  /** Deliveries are in flight in this process (they need turns of the event loop too). */
  busy(): boolean;
  /** Webhook handling may take this share of the rest of the previous turn (0.5: a third of the loop). */
  share?: number;
  /** … but never less than this many ms a turn, so acks keep flowing while deliveries only wait. */
  minBudgetMs?: number;
}

/**
 * Shares the event loop between taking webhooks in and delivering them. Without it, one turn
 * of the loop handles every request that arrived (50 connections: 50 handlers), a delivery
 * needs several turns (store, helpdesk, store), so deliveries crawl while a storm lasts (4–6%
 * of the ack rate, measured). While deliveries are in flight, each turn webhook handlers get at
 * most `share` times the time the rest of the previous turn took (at least `minBudgetMs`);
 * requests over the budget wait for the next turn. A channel's connection that waits sends its
 * next webhook later, so acks slow a little and deliveries keep their share. With no delivery in
 * flight nothing waits.
 *
 * The time a handler takes is measured between two immediates: a waiter released in one runs
 * its synchronous part (parse, verify, normalize, queue its write) in the microtasks before the next.
 */
export class IngressShare {
  private readonly waiting: (() => void)[] = [];
  private readonly share: number;
  private readonly minBudgetMs: number;
  private readonly busy: () => boolean;
  private turnScheduled = false;
  /** When the gate's part of the last turn ended. */
  private lastEnd = 0;

  constructor(opts: IngressShareOptions) {
    this.busy = opts.busy;
    this.share = opts.share ?? 0.5;
    this.minBudgetMs = opts.minBudgetMs ?? 1;
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
      if (this.waiting.length === 0 || (released > 0 && performance.now() - start >= budget)) return;
      released++;
      this.waiting.shift()!();
    };
    setImmediate(() => {
      start = performance.now();
      if (this.busy() && this.lastEnd > 0) budget = Math.max(this.minBudgetMs, (start - this.lastEnd) * this.share);
      release();
    });
    for (let i = 1; i < Math.min(this.waiting.length + 64, 512); i++) setImmediate(release);
    setImmediate(() => {
      this.lastEnd = performance.now();
      this.turnScheduled = false;
      if (this.waiting.length > 0) this.scheduleTurn();
      else this.lastEnd = 0;
    });
  }
}
