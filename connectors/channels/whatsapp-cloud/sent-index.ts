import { z } from 'zod';
import type { KeyValueStore } from '../../../src/core/connector.ts';
import { readKvJson } from '../../../src/core/kv-json.ts';

/** What the gateway remembers about a message it sent: enough to tell the agent which one failed. */
export const SentMessage = z.object({
  conversation: z.string(),
  replyId: z.string(),
  excerpt: z.string(),
  /** The reply as a template parameter would carry it (free-form parts only). */
  text: z.string().optional(),
  /** The part was itself a template: a failed template is not answered with another. */
  template: z.boolean().optional(),
});
export type SentMessage = z.infer<typeof SentMessage>;

const key = (wamid: string) => `wamid:${wamid}`;

export async function recordSent(kv: KeyValueStore, wamid: string, sent: SentMessage): Promise<void> {
  await kv.set(key(wamid), JSON.stringify(sent), { keep: 'sent' });
}

export function lookupSent(kv: KeyValueStore, wamid: string): Promise<SentMessage | undefined> {
  return readKvJson(kv, key(wamid), SentMessage);
}

/**
 * When Meta last said this conversation's window is closed (131047, refused at once or reported
 * in a `failed` status): until the customer writes again, replies go as the template straight away.
 */
const closedKey = (conversation: string) => `window-closed:${conversation}`;

export async function recordMetaClosed(kv: KeyValueStore, conversation: string, at: Date): Promise<void> {
  await kv.set(closedKey(conversation), at.toISOString(), { keep: 'sent' });
}

export async function metaClosedAt(kv: KeyValueStore, conversation: string): Promise<Date | undefined> {
  const value = await kv.get(closedKey(conversation));
  const at = value === undefined ? undefined : new Date(value);
  return at && !Number.isNaN(at.getTime()) ? at : undefined;
}
