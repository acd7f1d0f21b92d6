import type { KeyValueStore } from '../../../src/core/connector.ts';

/**
 * The subject the customer wrote when the conversation began. Replies say "Re: <it>" even when a
 * rule gave the ticket another subject: mail clients (Gmail first) thread on the subject too.
 */
const key = (conversation: string) => `subject:${conversation}`;

export async function rememberSubject(kv: KeyValueStore, conversation: string, subject: string): Promise<void> {
  if ((await kv.get(key(conversation))) === undefined) await kv.set(key(conversation), subject, { keep: 'threads' });
}

export async function recallSubject(kv: KeyValueStore, conversation: string): Promise<string | undefined> {
  return kv.get(key(conversation));
}

/** "Re: " once, whatever prefix the subject already had (Re, RE, Fwd, AW, Отв …). */
export function replySubject(subject: string | undefined): string {
  const s = (subject ?? '').trim();
  if (s === '') return 'Re: your message';
  return /^(re|aw|sv|antw|отв|ответ)\s*(?:\[\d+\]\s*)?:/i.test(s) ? s : `Re: ${s}`;
}
