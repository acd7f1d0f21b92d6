import type { KeyValueStore } from '../core/connector.ts';
import { DEFAULT_RETENTION, expiresAt, type Retention } from '../core/retention.ts';
import { claimSlot } from './window-slots.ts';

/**
 * A key-value store in memory: for `switchboard check` (nothing to keep) and for tests. Records
 * expire like the runtimes' (read as absent, then dropped); `now` lets a test move the clock.
 */
export function memoryKv(o: { retention?: Readonly<Retention>; now?: () => number } = {}): KeyValueStore & { map: Map<string, string> } {
  const map = new Map<string, string>();
  const expiries = new Map<string, number>();
  const retention = o.retention ?? DEFAULT_RETENTION;
  const now = o.now ?? Date.now;
  const live = (k: string): string | undefined => {
    const until = expiries.get(k);
    if (until !== undefined && until <= now()) {
      map.delete(k);
      expiries.delete(k);
    }
    return map.get(k);
  };
  const put = (k: string, v: string, until: number | undefined) => {
    map.set(k, v);
    if (until === undefined) expiries.delete(k);
    else expiries.set(k, until);
  };
  return {
    map,
    get: async (k) => live(k),
    set: async (k, v, opts) => put(k, v, expiresAt(opts, retention, now())),
    delete: async (k) => {
      map.delete(k);
      expiries.delete(k);
    },
    claimInWindow: async (k, id, limit, windowMs) => {
      const at = now();
      const { claimed, value } = claimSlot(live(k), id, limit, windowMs, at);
      if (claimed) put(k, value, at + windowMs);
      return claimed;
    },
  };
}
