import { z } from 'zod';

/**
 * The sliding-window claim of `KeyValueStore.claimInWindow` on a value kept as JSON (id → when),
 * for stores that run it inside one synchronous step (the embedded store's transaction, memory).
 */
const Slots = z.record(z.string(), z.number());

export function claimSlot(raw: string | undefined, id: string, limit: number, windowMs: number, now: number): { claimed: boolean; value: string } {
  const slots = Object.fromEntries(Object.entries(parse(raw)).filter(([, at]) => now - at < windowMs));
  const claimed = slots[id] !== undefined || Object.keys(slots).length < limit;
  if (claimed) slots[id] ??= now;
  return { claimed, value: JSON.stringify(slots) };
}

/** An unreadable value counts as empty: a cap that forgets beats one that blocks forever. */
function parse(raw: string | undefined): Record<string, number> {
  if (raw === undefined) return {};
  try {
    const parsed = Slots.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}
