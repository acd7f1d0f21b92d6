import type { KeyValueStore } from '../../../src/core/connector.ts';

/**
 * At most `limit` automatic replies per recipient per hour (RFC 3834 asks responders not to
 * answer the same sender again and again): the last guard against a loop with an
 * autoresponder that marks its mail with none of the usual headers. The store claims the slot
 * atomically, so several conversations of one address finishing at once still get `limit`
 * replies, not one each. A retried send of the same reply does not take a second slot.
 */
const HOUR_MS = 60 * 60_000;

export function takeAutoReplySlot(kv: KeyValueStore, recipient: string, replyId: string, limit: number): Promise<boolean> {
  return kv.claimInWindow(`autoreplies:${recipient.toLowerCase()}`, replyId, limit, HOUR_MS);
}
