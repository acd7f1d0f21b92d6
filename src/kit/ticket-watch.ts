import { z } from 'zod';
import type { KeyValueStore } from '../core/connector.ts';

/**
 * For helpdesks whose "add a message" call goes through on a closed or solved ticket (Freshdesk's
 * notes, Usedesk's comments), the gateway must know a ticket is still open before it writes a
 * follow-up there without reading it first. It remembers when it last saw the ticket open (it
 * created it, or read it), and forgets that when the helpdesk tells of a change: any agent event
 * for the ticket (a reply, a status change: the webhook in the helpdesk's guide). Past the
 * recheck window it reads again anyway, in case an event was lost or never set up.
 */

export const RecheckTicketAfterSec = z.number().int().min(0).default(600)
  .describe('a follow-up is written without reading its ticket first when the gateway saw the ticket open less than this long ago and the helpdesk has told of no change since; 0: always read first');

export interface TicketWatch {
  /** The ticket is open now (the gateway created it, or read it). */
  sawOpen(ticketId: string): Promise<void>;
  /** Seen open within the window, and nothing told since: a follow-up may go without a read. */
  knownOpen(ticketId: string): Promise<boolean>;
  /** The helpdesk told of a change on the ticket: read it before the next write. */
  changed(ticketId: string): Promise<void>;
}

export function ticketWatch(kv: KeyValueStore, helpdesk: string, recheckAfterSec: number): TicketWatch {
  const key = (ticketId: string) => `${helpdesk}:seen-open:${ticketId}`;
  return {
    async sawOpen(ticketId) {
      // Worth nothing past the window: a cache that expires with it.
      if (recheckAfterSec > 0) await kv.set(key(ticketId), String(Date.now()), { ttlMs: recheckAfterSec * 1000 });
    },
    async knownOpen(ticketId) {
      if (recheckAfterSec === 0) return false;
      const at = Number(await kv.get(key(ticketId)));
      return Number.isFinite(at) && at > 0 && Date.now() - at < recheckAfterSec * 1000;
    },
    async changed(ticketId) {
      await kv.delete(key(ticketId));
    },
  };
}
