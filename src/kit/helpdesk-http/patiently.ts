import { setTimeout as sleep } from 'node:timers/promises';
import { asDeliveryError } from '../../core/errors.ts';

/**
 * Reading a helpdesk's history is one long series of list requests: a rate limit (Zendesk's
 * incremental export allows 10 a minute) or a passing outage is waited out, not fatal.
 */
export async function patiently<T>(fn: () => Promise<T>, opts: { attempts?: number; baseDelayMs?: number } = {}): Promise<T> {
  const attempts = opts.attempts ?? 6;
  const base = opts.baseDelayMs ?? 1000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const e = asDeliveryError(err);
      if (e.kind === 'permanent' || attempt >= attempts) throw e;
      await sleep(e.retryAfterMs ?? base * 2 ** (attempt - 1));
    }
  }
}

/** Unix seconds, as list APIs take them. */
export const unixSeconds = (d: Date): number => Math.floor(d.getTime() / 1000);
