/**
 * Webhooks handled at once while deliveries run, unless configured: a quarter of the deliveries'
 * concurrency, an eighth on Redis (there each webhook's write is also a script on the one Redis
 * server that the worker's scripts queue behind), at least 1.
 */
export const defaultWebhooksAtOnce = (concurrency: number, store: 'embedded' | 'redis'): number =>
  Math.max(1, Math.floor(concurrency / (store === 'redis' ? 8 : 4)));

export interface IngressShareOptions {
  /** Deliveries in this process are moving (they need turns of the event loop too). */
  busy(): boolean;
  /** While they are, at most this many webhooks are handled at once (the rest wait, in order). */
  atOnce: number;
}

/**
 * Deliveries in flight that have neither started nor finished anything for this long are waiting
 * on the remote side (a helpdesk that hangs), not on this process: they need no share of it.
 * Webhook handlers that all held their turn this long are waiting on something else too.
 */
export const IDLE_DELIVERIES_AFTER_MS = 250;

/**
 * Shares the event loop between taking webhooks in and delivering them, by taking turns: while
 * deliveries are moving, at most `atOnce` webhooks are handled at once (from admission to the
 * answer written), the rest wait in the order they came. Without it every request that arrived
 * is handled in the same turn of the loop (50 connections: 50 handlers, their store writes and
 * their answers), while a delivery needs several turns (store, helpdesk, store), so deliveries
 * crawled while a storm lasted (4–15% of their unloaded rate, measured). With it each turn of
 * the loop moves at most `atOnce` webhooks one step on, next to the deliveries in flight, so
 * each side keeps a share that follows from its own concurrency. A channel's connection that
 * waits sends its next webhook later: acks slow down, deliveries carry on. Counting whole
 * handlers (not CPU time of part of one) puts everything a webhook costs on its side: its
 * body's parsing, the store write and its commit, the answer. With no delivery moving nothing waits; handlers that
 * all wait on something else (none finished for a while) do not hold the others back.
 */
export class IngressShare {
  private readonly waiting: (() => void)[] = [];
  private readonly atOnce: number;
  private readonly busy: () => boolean;
  private handling = 0;
  private finished = 0;
  private stallTimer: NodeJS.Timeout | undefined;

  constructor(opts: IngressShareOptions) {
    this.busy = opts.busy;
    this.atOnce = Math.max(1, opts.atOnce);
  }

  /** Runs `handle` (a webhook's handling, up to its answer) when it is its turn. */
  async run<T>(handle: () => Promise<T>): Promise<T> {
    if (this.waiting.length > 0 || !this.free()) {
      const turn = new Promise<void>((resolve) => this.waiting.push(resolve));
      this.watchForStall();
      await turn;
    } else this.handling++;
    try {
      return await handle();
    } finally {
      this.handling--;
      this.finished++;
      this.next();
    }
  }

  private free(): boolean {
    return this.handling < this.atOnce || !this.busy();
  }

  /** Lets the next waiting handlers in (the slot is taken for them before they resume). */
  private next(): void {
    while (this.waiting.length > 0 && this.free()) {
      this.handling++;
      this.waiting.shift()!();
    }
  }

  /** While handlers wait: if none of those let in finishes for a while, the waiting ones go ahead. */
  private watchForStall(): void {
    if (this.stallTimer || this.waiting.length === 0) return;
    const seen = this.finished;
    this.stallTimer = setTimeout(() => {
      this.stallTimer = undefined;
      if (this.finished === seen) {
        this.handling += this.waiting.length;
        for (const resolve of this.waiting.splice(0)) resolve();
      }
      this.watchForStall();
    }, IDLE_DELIVERIES_AFTER_MS);
    this.stallTimer.unref();
  }
}
