import { readFileSync } from 'node:fs';

/** The main thread's scheduler counters (Linux): ns on a CPU, ns runnable but waiting for one. */
const SCHEDSTAT = '/proc/thread-self/schedstat';

function waitedNs(): number | undefined {
  try {
    const waited = Number(readFileSync(SCHEDSTAT, 'utf8').split(' ')[1]);
    return Number.isFinite(waited) ? waited : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The part of the time since the last call that this process's event loop was ready to run but
 * waited for a CPU that other processes had: what a process loses to its neighbours on the same
 * cores, which its own event loop's utilization cannot tell (a starved loop looks idle while its
 * answers wait for it). Measured on the scheduler's counters for the calling thread (the main
 * one): `undefined` where the system has none (not Linux, or schedstats off).
 */
export function cpuWaitMeter(now: () => number = () => performance.now()): () => number | undefined {
  let waited = waitedNs();
  let at = now();
  return () => {
    const w = waitedNs();
    const t = now();
    const share = w === undefined || waited === undefined || t <= at ? undefined : (w - waited) / 1e6 / (t - at);
    waited = w;
    at = t;
    return share;
  };
}
