import { z } from 'zod';
import type { KeyValueStore } from '../../../src/core/connector.ts';
import { readKvJson } from '../../../src/core/kv-json.ts';

/** What the gateway remembers about a message it sent: enough to tell the agent which one failed. */
export const SentMessage = z.object({
  conversation: z.string(),
  replyId: z.string(),
  excerpt: z.string(),
});
export type SentMessage = z.infer<typeof SentMessage>;

const key = (wamid: string) => `wamid:${wamid}`;

export async function recordSent(kv: KeyValueStore, wamid: string, sent: SentMessage): Promise<void> {
  await kv.set(key(wamid), JSON.stringify(sent));
}

export function lookupSent(kv: KeyValueStore, wamid: string): Promise<SentMessage | undefined> {
  return readKvJson(kv, key(wamid), SentMessage);
}
