import type { Throttled } from '../core/jobs.ts';

export interface FloodLimit {
  /** Messages a sender may send in `perSeconds` before they are throttled. */
  messages: number;
  perSeconds: number;
}

interface Bucket {
  tokens: number;
  at: number;
  /** Throttled since the bucket was last full (the agents were told). */
  episode: boolean;
}

/**
 * The per-sender flood limit: a token bucket of `messages` tokens refilled over `perSeconds`.
 * A message that finds no token is throttled (it waits behind other senders' work, nothing is
 * dropped). An episode lasts until the sender has been quiet long enough for the bucket to
 * fill up again; its first throttled message is marked so the agents are told once.
 * The Redis runtime runs the same arithmetic in Lua (scripts.ts, `flood_mark`).
 */
export class FloodMeter {
  private readonly buckets = new Map<string, Bucket>();
  private readonly capacity: number;
  private readonly perMs: number;
  private sweptAt = 0;

  constructor(limit: FloodLimit) {
    this.capacity = limit.messages;
    this.perMs = limit.messages / (limit.perSeconds * 1000);
  }

  mark(sender: string, now: number): Throttled | undefined {
    this.sweep(now);
    const b = this.buckets.get(sender) ?? { tokens: this.capacity, at: now, episode: false };
    b.tokens = Math.min(this.capacity, b.tokens + (now - b.at) * this.perMs);
    b.at = now;
    if (b.tokens >= this.capacity) b.episode = false;
    let mark: Throttled | undefined;
    if (b.tokens >= 1) b.tokens -= 1;
    else {
      mark = b.episode ? 'more' : 'first';
      b.episode = true;
    }
    this.buckets.set(sender, b);
    return mark;
  }

  /** Forgets senders whose bucket has filled up again (they are as good as new), once a window. */
  private sweep(now: number): void {
    const windowMs = this.capacity / this.perMs;
    if (now - this.sweptAt < windowMs) return;
    this.sweptAt = now;
    for (const [sender, b] of this.buckets) if (b.tokens + (now - b.at) * this.perMs >= this.capacity) this.buckets.delete(sender);
  }
}
