import type { KeyValueStore } from './connector.ts';
import { NotYet } from './errors.ts';

/**
 * Tickets the gateway is in the middle of creating. A conversation's link (conversation ↔ ticket)
 * is written when the delivery that created the ticket is recorded, a moment after the helpdesk
 * has the ticket: an agent's reply or a trigger on it in that moment finds no link. So the delivery
 * marks the ticket as soon as the helpdesk answers with its id (one kv write per new ticket, with
 * the delivery's other writes; a follow-up on a linked ticket writes none), and an event that
 * finds no link waits for it only while the mark is there. An event on a ticket the gateway never
 * made (a team's helpdesk gets tickets from many sources, and its triggers send them all) finds
 * no mark and is ignored at once, as before. A mark whose delivery died unrecorded expires.
 *
 * Not covered: an event the helpdesk sends before it has answered the create (no helpdesk does:
 * triggers and webhooks run after the request that made the ticket has committed).
 */

/** How long a mark lives, and how long an event waits for the link at most. */
export const LINKING_MS = 60_000;
/** The first look again comes soon (the completion usually lands within milliseconds), later ones further apart. */
const FIRST_LOOK_MS = 100;
const LAST_LOOK_MS = 2_000;

export interface TicketsBeingLinked {
  /** The helpdesk has made `ticketId` for a conversation whose delivery is not recorded yet. */
  mark(ticketId: string): Promise<void>;
  /**
   * For an event (seen at `eventAt`) on a ticket no conversation is linked to: the NotYet to throw
   * when the ticket is being linked and the event may still wait, else undefined (ignore it).
   */
  untilLinked(ticketId: string, eventAt: number): Promise<NotYet | undefined>;
}

export function ticketsBeingLinked(kv: KeyValueStore, now: () => number = Date.now): TicketsBeingLinked {
  const key = (ticketId: string) => `linking:${ticketId}`;
  return {
    mark: (ticketId) => kv.set(key(ticketId), String(now()), { ttlMs: LINKING_MS }),
    async untilLinked(ticketId, eventAt) {
      const at = now();
      const age = at - eventAt;
      if (age >= LINKING_MS || (await kv.get(key(ticketId))) === undefined) return undefined;
      // Doubling from the event's age: a handful of looks, however long the completion takes.
      return new NotYet(at + Math.min(LAST_LOOK_MS, Math.max(FIRST_LOOK_MS, age)), "waiting for the ticket's conversation to be linked");
    },
  };
}
