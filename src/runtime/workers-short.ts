import { cpuWaitMeter } from './cpu-wait.ts';
import { CYCLE_MS } from './ingress-share.ts';

/**
 * Where worker processes say they are short of CPU and where ingress processes read it (on
 * Redis: one key that expires). Shared by every process of a deployment.
 */
export interface ShortBoard {
  /** Says "short" for `ttlMs` (said again every cycle while it lasts). */
  raise(ttlMs: number): Promise<unknown>;
  raised(): Promise<boolean>;
}

/** What a worker process knows about its deliveries. */
export interface WorkerLoad {
  /** Deliveries are moving. */
  busy: boolean;
  /** Work is waiting that this worker cannot take yet: every slot is taken, or ready lanes are left. */
  behind: boolean;
}

/**
 * A worker is short of CPU when its event loop waited for one at least this part of a cycle
 * (measured: 0.06–0.27 delivering a backlog next to an idle ingress on two shared cores,
 * 0.32–0.70 next to a webhook storm).
 */
export const SHORT_WAIT = 0.3;

/**
 * … and stays short while it waits at least this part: the CPU an ingress leaves it brings its
 * wait down (measured: 0.09–0.37 of each cycle while the ingress yielded), which must not end the
 * yielding that brought it down.
 */
export const KEEP_WAIT = 0.1;

/**
 * Run by a process with a worker: every cycle, while its deliveries move, work is waiting for it
 * and its event loop waited for a CPU for at least SHORT_WAIT of the cycle (KEEP_WAIT once it
 * said so), it says so on the board (one write per cycle, none otherwise). The CPU went to its neighbours: an ingress
 * process on the same cores that holds webhooks back for a part of each cycle gives it back.
 * A worker waiting on the helpdesk, or one with nothing waiting, says nothing.
 */
export function reportWorkersShort(board: ShortBoard, load: () => WorkerLoad | undefined, o: { cycleMs?: number; waited?: () => number | undefined } = {}): { stop(): void } {
  const cycleMs = o.cycleMs ?? CYCLE_MS;
  const waited = o.waited ?? cpuWaitMeter();
  let short = false;
  const timer = setInterval(() => {
    const share = waited();
    const l = load();
    short = !!l?.busy && l.behind && share !== undefined && share >= (short ? KEEP_WAIT : SHORT_WAIT);
    // Lasts three cycles: a late timer under load does not drop it between two reports.
    if (short) board.raise(cycleMs * 3).catch(() => undefined);
  }, cycleMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/**
 * Read by a process that takes webhooks: whether a worker process said it was short of CPU, as
 * last read from the board. Reads at most once a cycle, only when asked (webhooks coming in), never
 * on a webhook's path: the answer is the one read before, the next read is on its way.
 */
export function workersShort(board: ShortBoard, o: { cycleMs?: number; now?: () => number } = {}): () => boolean {
  const cycleMs = o.cycleMs ?? CYCLE_MS;
  const now = o.now ?? (() => performance.now());
  let short = false;
  let readAt = -Infinity;
  return () => {
    const t = now();
    if (t - readAt >= cycleMs) {
      readAt = t;
      board.raised().then(
        (raised) => (short = raised),
        // Redis away: nothing to yield to (the webhooks get their 503 from the store).
        () => (short = false),
      );
    }
    return short;
  };
}

/** An ingress yields to short workers only once it waited for a CPU itself this part of the time since the last cycle. */
export const OWN_WAIT = 0.1;

/**
 * An ingress process's own part: it starts holding webhooks back for short workers only when it
 * waited for a CPU itself (OWN_WAIT): it shares cores with someone, and what it leaves can reach
 * the workers. An ingress on cores of its own never waits for workers elsewhere, which it could
 * not help. Once it yields it goes on while the workers stay short (yielding, it waits for a CPU
 * less). Called at the start of each cycle, measuring its own wait since the previous one.
 */
export function yieldToShortWorkers(short: () => boolean, waited: () => number | undefined = cpuWaitMeter()): () => boolean {
  let yielding = false;
  return () => {
    const own = waited();
    yielding = short() && (yielding || (own !== undefined && own >= OWN_WAIT));
    return yielding;
  };
}
