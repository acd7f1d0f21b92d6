import { z } from 'zod';
import type { KeyValueStore } from '../../../src/core/connector.ts';
import { readKvJson } from '../../../src/core/kv-json.ts';
import type { Email } from './parse.ts';

/**
 * Which conversation a Message-ID belongs to: every mail taken in and every reply sent is
 * recorded, so that a customer's answer (In-Reply-To / References) finds its ticket again.
 * The same record says a mail was already taken, which is what keeps a rescan after a
 * UIDVALIDITY change (or the same mail delivered twice) from making a second ticket.
 */
const Entry = z.object({
  /** The conversation's externalId. */
  c: z.string(),
  /** The mail's Date header, when it was an inbound mail (see `sameMail`). */
  d: z.string().optional(),
  /** A reply this gateway sent. */
  own: z.boolean().optional(),
  /** The address that reply went to (lower case): an answer from it proves the address (`answersOwnMailTo`). */
  to: z.string().optional(),
});
type Entry = z.infer<typeof Entry>;

const key = (messageId: string) => `mid:${messageId}`;

export class ThreadIndex {
  readonly #kv: KeyValueStore;

  constructor(kv: KeyValueStore) {
    this.#kv = kv;
  }

  #get(messageId: string): Promise<Entry | undefined> {
    return readKvJson(this.#kv, key(messageId), Entry);
  }

  /** The conversation of the newest known id in a thread chain (`ids` oldest first). */
  async conversationOf(ids: string[]): Promise<string | undefined> {
    for (const id of [...ids].reverse()) {
      const entry = await this.#get(id);
      if (entry) return entry.c;
    }
    return undefined;
  }

  /**
   * Whether this mail was taken before. The Date must match too: a few broken senders reuse one
   * Message-ID for different mails, and those must still get through.
   */
  async taken(email: Pick<Email, 'messageId' | 'date'>): Promise<boolean> {
    if (!email.messageId) return false;
    const entry = await this.#get(email.messageId);
    return entry !== undefined && !entry.own && entry.d === dateKey(email);
  }

  async recordInbound(email: Pick<Email, 'messageId' | 'date'>, conversation: string): Promise<void> {
    if (!email.messageId) return;
    const entry: Entry = { c: conversation };
    const d = dateKey(email);
    if (d !== undefined) entry.d = d;
    await this.#kv.set(key(email.messageId), JSON.stringify(entry), { keep: 'threads' });
  }

  async recordSent(messageId: string, conversation: string, to: string): Promise<void> {
    await this.#kv.set(key(messageId), JSON.stringify({ c: conversation, own: true, to: to.trim().toLowerCase() } satisfies Entry), { keep: 'threads' });
  }

  /**
   * Whether a mail answers one this gateway sent to `address`: one of the ids it refers to
   * (In-Reply-To, References) is ours and went to that very address. What proves that the person
   * writing from `address` reads its mail, which a From header alone does not.
   */
  async answersOwnMailTo(ids: string[], address: string): Promise<boolean> {
    const from = address.trim().toLowerCase();
    for (const id of ids.slice(-MAX_CHECKED)) {
      const entry = await this.#get(id);
      if (entry?.own && entry.to === from) return true;
    }
    return false;
  }
}

/** The newest references are the ones a reply adds; a long chain is not read to its start. */
const MAX_CHECKED = 20;

export function dateKey(email: Pick<Email, 'date'>): string | undefined {
  return email.date?.toISOString();
}

export interface Thread {
  /** The conversation's externalId: the Message-ID of its first mail. */
  externalId: string;
  /** It continues a conversation this gateway already has. */
  followUp: boolean;
  how: 'references' | 'ticket tag' | 'new';
}

const TICKET_TAG = /\[#(\d+)\]/;

/**
 * Headers first (the customer's client answered one of our mails or one of theirs we saw),
 * then a `[#1234]` ticket tag in the subject, else a new conversation.
 */
export async function resolveThread(
  email: Email,
  fallbackId: string,
  deps: { index: ThreadIndex; conversationForTicket(ticketId: string): Promise<string | undefined> },
): Promise<Thread> {
  const refs = [...email.references, ...(email.inReplyTo ? [email.inReplyTo] : [])];
  const byRefs = await deps.index.conversationOf(refs);
  if (byRefs) return { externalId: byRefs, followUp: true, how: 'references' };
  const tag = TICKET_TAG.exec(email.subject)?.[1];
  if (tag) {
    const byTag = await deps.conversationForTicket(tag);
    if (byTag) return { externalId: byTag, followUp: true, how: 'ticket tag' };
  }
  return { externalId: email.messageId ?? fallbackId, followUp: false, how: 'new' };
}
