import type { KeyValueStore } from '../core/connector.ts';
import { claimSlot } from './window-slots.ts';

/** A key-value store in memory: for `switchboard check` (nothing to keep) and for tests. */
export function memoryKv(): KeyValueStore & { map: Map<string, string> } {
  const map = new Map<string, string>();
  return {
    map,
    get: async (k) => map.get(k),
    set: async (k, v) => void map.set(k, v),
    delete: async (k) => void map.delete(k),
    claimInWindow: async (k, id, limit, windowMs) => {
      const { claimed, value } = claimSlot(map.get(k), id, limit, windowMs, Date.now());
      map.set(k, value);
      return claimed;
    },
  };
}
