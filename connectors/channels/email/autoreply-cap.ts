import { z } from 'zod';
import type { KeyValueStore } from '../../../src/core/connector.ts';

/**
 * At most `limit` automatic replies per recipient per hour (RFC 3834 asks responders not to
 * answer the same sender again and again): the last guard against a loop with an
 * autoresponder that marks its mail with none of the usual headers. A retried send of the
 * same reply does not take a second slot.
 */
const HOUR_MS = 60 * 60_000;
const Slots = z.record(z.string(), z.number());

export async function takeAutoReplySlot(
  kv: KeyValueStore,
  recipient: string,
  replyId: string,
  limit: number,
  now = Date.now(),
): Promise<boolean> {
  const key = `autoreplies:${recipient.toLowerCase()}`;
  const slots = Object.fromEntries(Object.entries(parseSlots(await kv.get(key))).filter(([, at]) => now - at < HOUR_MS));
  if (slots[replyId] !== undefined) return true;
  if (Object.keys(slots).length >= limit) return false;
  slots[replyId] = now;
  await kv.set(key, JSON.stringify(slots));
  return true;
}

function parseSlots(raw: string | undefined): Record<string, number> {
  if (raw === undefined) return {};
  try {
    const parsed = Slots.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}
