import { performance as perfHooks } from 'node:perf_hooks';

/** How a process shares itself between webhooks and deliveries during a storm (`delivery:` settings). */
export interface ShareSettings {
  /** Part of each cycle that moving deliveries have the process to themselves (0: webhooks never wait). */
  deliveryShare: number;
  /** Webhooks of one route that may wait for their turn; the next one is refused (503, the channel retries). */
  maxWaiting: number;
}

/**
 * Deliveries have 70% of each cycle to themselves: half of it would be enough on a quiet machine,
 * the rest is for what the machine and the other side's leftovers take from it (BENCHMARKS.md).
 */
export const DEFAULT_SHARE: ShareSettings = { deliveryShare: 0.7, maxWaiting: 100 };

export interface IngressShareOptions extends Partial<ShareSettings> {
  /** Deliveries are moving that need this process's time: its own, or (Redis) worker processes short of the CPU it takes. */
  busy(): boolean;
  /** Length of one cycle (webhooks' part, then the deliveries' own part). */
  cycleMs?: number;
  /** The process had no time to spare since the last call (default: the event loop's utilization since then). */
  underPressure?: () => boolean;
}

/**
 * The event loop was busy at least this part of the time since the last cycle: a storm (the
 * measured storms run at 0.95-1). Below it, webhooks and deliveries both get what they need and
 * holding a webhook back would only delay its answer (a helpdesk's pace of deliveries, ~1 %).
 */
export const PRESSURE_UTILIZATION = 0.75;

/** Whether the event loop was busy for at least PRESSURE_UTILIZATION of the time since the last call. */
export function loopPressure(): () => boolean {
  // Taken now: a test's fake timers replace the global `performance`, not this one's methods.
  const utilization = perfHooks.eventLoopUtilization.bind(perfHooks);
  let last = utilization();
  return () => {
    const since = utilization(last);
    last = utilization();
    return since.utilization >= PRESSURE_UTILIZATION;
  };
}

/**
 * Deliveries in flight that have neither started nor finished anything for this long are waiting
 * on the remote side (a helpdesk that hangs), not on this process: they need no share of it.
 */
export const IDLE_DELIVERIES_AFTER_MS = 250;

/**
 * Long next to a delivery's step (a few ms) and next to what a change of sides costs (the
 * webhooks in flight finish in the deliveries' part), short next to a channel's patience (seconds).
 */
export const CYCLE_MS = 250;

/**
 * Shares the process between taking webhooks in and delivering them by time: while deliveries
 * are moving, each cycle of `cycleMs` opens with the webhooks' part (they are handled as they
 * come, next to the deliveries), then the deliveries have the rest, `deliveryShare` of the cycle,
 * to themselves: webhooks that come meanwhile wait, one line per route, and all go in when the
 * cycle ends. Deliveries so keep at least `deliveryShare` of their unloaded rate during a storm,
 * plus what they get in the webhooks' part, whatever a webhook or a delivery step costs.
 * A channel's connection that waits sends its next webhook later: acks slow down, deliveries
 * carry on.
 *
 * Why time and not counts: a cap on handlers at once (and a ratio of webhooks per delivery step)
 * gives each side a share that depends on what its steps cost, so it moved with every change to
 * either path and with what the machine was doing (0.34–0.68× of the unloaded rate measured with
 * a cap); and CPU time cannot be told apart per side in one event loop (a handler's store write
 * and answer run in later turns, among the deliveries'). A part of the clock in which only
 * deliveries run needs no measuring.
 *
 * Nothing waits unless the process is short of time: a cycle with a deliveries' part starts
 * only when the event loop was busy for PRESSURE_UTILIZATION of the time since the previous
 * cycle; otherwise the cycle is all webhooks' (deliveries at a helpdesk's pace do not delay an
 * answer). Nothing waits when no delivery is moving (none in flight, or all waiting on a helpdesk that has
 * not answered for 250 ms): the next webhook to come then goes in with all those waiting, and
 * none waits longer than the deliveries' part of a cycle whatever the deliveries do. A route whose line is full is
 * refused at once: an unsigned route's flood fills its own line, never a vendor's.
 */
export class IngressShare {
  private readonly lines = new Map<string, (() => void)[]>();
  private readonly busy: () => boolean;
  private readonly underPressure: () => boolean;
  private readonly openMs: number;
  private readonly closedMs: number;
  private readonly maxWaiting: number;
  /** The current cycle: webhooks go in until `openUntil`, then wait until `closedUntil`. */
  private openUntil = 0;
  private closedUntil = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(opts: IngressShareOptions) {
    this.busy = opts.busy;
    this.underPressure = opts.underPressure ?? loopPressure();
    const cycle = opts.cycleMs ?? CYCLE_MS;
    const share = Math.min(Math.max(opts.deliveryShare ?? DEFAULT_SHARE.deliveryShare, 0), 0.9);
    this.closedMs = Math.round(cycle * share);
    this.openMs = cycle - this.closedMs;
    this.maxWaiting = Math.max(0, opts.maxWaiting ?? DEFAULT_SHARE.maxWaiting);
  }

  /**
   * Runs `handle` (a webhook's handling, up to its answer) when it is its turn; when the route's
   * (`line`) waiting line is full, runs `full` instead at once.
   */
  async run<T>(line: string, handle: () => Promise<T>, full: () => T): Promise<T> {
    if (!this.mustWait()) return handle();
    let waiting = this.lines.get(line);
    if (!waiting) this.lines.set(line, (waiting = []));
    if (waiting.length >= this.maxWaiting) return full();
    await new Promise<void>((resolve) => waiting.push(resolve));
    return handle();
  }

  private mustWait(): boolean {
    if (this.closedMs === 0) return false;
    // The monotonic clock: a change of the wall clock neither stretches nor skips a part.
    const now = performance.now();
    if (now < this.openUntil) return false;
    if (now < this.closedUntil) {
      if (this.busy()) {
        if (!this.timer) {
          this.timer = setTimeout(() => this.release(), this.closedUntil - now);
          this.timer.unref();
        }
        return true;
      }
      // The deliveries stopped moving: nobody waits for the rest of their part.
      this.release();
      return false;
    }
    // A webhook after the cycle: a new one starts (with the webhooks' part) if deliveries move;
    // it has a deliveries' part only if the process is short of time.
    if (this.busy()) {
      const closed = this.underPressure() ? this.closedMs : 0;
      this.openUntil = now + this.openMs + this.closedMs - closed;
      this.closedUntil = this.openUntil + closed;
    }
    return false;
  }

  /** Lets every waiting webhook in, the routes' lines taking turns. */
  private release(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.closedUntil = 0;
    const lines = [...this.lines.values()];
    this.lines.clear();
    for (let i = 0, left = true; left; i++) {
      left = false;
      for (const line of lines) {
        const resolve = line[i];
        if (!resolve) continue;
        left = true;
        resolve();
      }
    }
  }
}
