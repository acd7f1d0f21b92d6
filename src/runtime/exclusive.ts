import type { Logger } from '../core/connector.ts';
import type { Lease } from './runtime.ts';

export interface ExclusivePart {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Runs a part that only one process may run at a time (a Telegram poller: two get 409
 * Conflict) in whichever process holds its lease. The others stand by and take over once the
 * holder stops renewing: a killed process's part restarts elsewhere within the lease's TTL.
 * A renewal that fails (Redis away) changes nothing; the next one decides. `what` names the part
 * in the log (the SLA watch runs this way too).
 */
export function runExclusively(lease: Lease, part: ExclusivePart, log: Logger, what = 'the channel'): { active(): boolean; close(): Promise<void> } {
  let running = false;
  let closed = false;
  let standbySaid = false;
  let turn: Promise<void> = Promise.resolve();

  const check = async (): Promise<void> => {
    let held: boolean;
    try {
      held = await lease.hold();
    } catch (err) {
      log.warn({ error: err instanceof Error ? err.message : String(err) }, 'could not renew the lease; carrying on as before');
      return;
    }
    if (closed) return;
    if (held && !running) {
      running = true;
      standbySaid = false;
      log.info({}, `this process runs ${what} (lease taken)`);
      await part.start().catch((err: unknown) => log.error({ err }, `${what} failed to start`));
    } else if (!held && running) {
      running = false;
      log.warn({}, `another process holds the lease now; stopping ${what} here`);
      await part.stop().catch((err: unknown) => log.warn({ err }, `${what} did not stop cleanly`));
    } else if (!held && !standbySaid) {
      standbySaid = true;
      log.info({}, `standing by: another process runs ${what}`);
    }
  };
  const tick = () => {
    turn = turn.then(check);
    return turn;
  };
  const timer = setInterval(tick, Math.max(100, Math.floor(lease.ttlMs / 3)));
  timer.unref();
  void tick();

  return {
    active: () => running,
    async close() {
      closed = true;
      clearInterval(timer);
      await turn;
      if (running) {
        running = false;
        await part.stop().catch(() => undefined);
      }
      await lease.release().catch(() => undefined);
    },
  };
}
