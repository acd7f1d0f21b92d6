import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { ChannelRef, KeyValueStore, RequesterRef } from '../../../src/core/connector.ts';
import type { CustomerView } from '../../../src/core/identity/customer.ts';
import type { Sender } from '../../../src/core/message.ts';
import { ClientCard, ClientCreated, ClientHits, Done } from './api.ts';
import type { UsedeskHttp } from './http.ts';

/** A client id found or created is reused this long without asking Usedesk again. */
const CLIENT_REUSE_MS = 60 * 60_000;
/** Messenger networks Usedesk keeps ids of on a client (its `messengers[].type`), named as channels name their network. */
const MESSENGERS = new Set(['telegram', 'whatsapp', 'viber']);

const capitalized = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

export interface ClientIdentity {
  name: string;
  email?: string;
  /** Digits only: Usedesk takes 10–15 digits. */
  phone?: string;
  /** The customer's id in a messenger Usedesk knows (telegram, whatsapp, viber). */
  messenger?: { identity: string; type: string };
  /** `<channel id>:<sender id>`, kept in the client's note. */
  channelKey: string;
}

export function clientIdentity(sender: Sender, channel: ChannelRef): ClientIdentity {
  const name = sender.displayName?.trim() || sender.username?.trim() || `${capitalized(channel.kind)} user ${sender.externalId}`;
  const digits = sender.phone?.replace(/\D/g, '');
  const type = channel.medium === 'messenger' && channel.network && MESSENGERS.has(channel.network) ? channel.network : undefined;
  return {
    name,
    ...(sender.email?.trim() ? { email: sender.email.trim().toLowerCase() } : {}),
    ...(digits && digits.length >= 10 && digits.length <= 15 ? { phone: digits } : {}),
    ...(type ? { messenger: { identity: sender.externalId, type } } : {}),
    channelKey: `${channel.id}:${sender.externalId}`,
  };
}

async function search(http: UsedeskHttp, query: string) {
  return http.call('search clients', '/clients', { query, search_type: 'full_match' }, ClientHits, { wrote: false });
}

/** Email, then phone, then the messenger id (confirmed on the client's card: search matches loosely). */
async function find(http: UsedeskHttp, who: ClientIdentity): Promise<number | undefined> {
  if (who.email) {
    const hit = (await search(http, who.email)).find((c) => (c.emails ?? '').toLowerCase().split(/[,\s]+/).includes(who.email!));
    if (hit) return hit.id;
  }
  if (who.phone) {
    const hit = (await search(http, who.phone)).find((c) => (c.phone ?? '').replace(/[^\d,]/g, '').split(',').includes(who.phone!));
    if (hit) return hit.id;
  }
  if (who.messenger) {
    for (const candidate of (await search(http, who.messenger.identity)).slice(0, 5)) {
      const card = await http.call('read client', '/client', { client_id: candidate.id }, ClientCard, { wrote: false });
      if ((card.messengers ?? []).some((m) => m.identity === who.messenger!.identity && (!m.type || m.type === who.messenger!.type))) return card.id;
    }
  }
  return undefined;
}

/**
 * Finds the customer's client, or creates it. The gateway remembers the client it made for a channel
 * id; Usedesk is searched by email, phone, or the messenger id (kept on the client as a messenger).
 */
export async function upsertClient(http: UsedeskHttp, kv: KeyValueStore, who: ClientIdentity): Promise<RequesterRef> {
  const key = `usedesk:client:${createHash('sha256').update(JSON.stringify([who.email, who.phone, who.channelKey])).digest('hex')}`;
  const cached = await kv.get(key);
  if (cached) {
    const [id, at] = cached.split('@');
    if (id && Date.now() - Number(at) < CLIENT_REUSE_MS) return { id };
  }
  // What the gateway itself created for this channel id, even when Usedesk's search cannot find it.
  const mine = await kv.get(`usedesk:client-of:${who.channelKey}`);
  let id = mine ? Number(mine) : await find(http, who);
  if (id === undefined) {
    const created = await http.call('create client', '/create/client', {
      name: who.name,
      ...(who.email ? { emails: [who.email] } : {}),
      ...(who.phone ? { phone: who.phone, phone_type: 'mobile' } : {}),
      ...(who.messenger ? { messengers: [who.messenger] } : {}),
      note: `Switchboard: ${who.channelKey}`,
    }, ClientCreated);
    id = created.client_id;
    await kv.set(`usedesk:client-of:${who.channelKey}`, String(id));
  }
  await kv.set(key, `${id}@${Date.now()}`, { ttlMs: CLIENT_REUSE_MS });
  return { id: String(id) };
}

const ClientContacts = ClientCard.extend({
  emails: z.array(z.looseObject({ email: z.string() })).nullish(),
  phones: z.array(z.looseObject({ phone: z.union([z.string(), z.number()]).transform(String) })).nullish(),
});

const usedeskPhone = (phone: string): string | undefined => {
  const digits = phone.replace(/\D/g, '');
  return digits.length >= 10 && digits.length <= 15 ? digits : undefined;
};

/** The sender's identity, with the customer's proven email and phone where the sender has none: looked up before a client is made. */
export function customerClientIdentity(who: ClientIdentity, customer?: CustomerView): ClientIdentity {
  const email = who.email ?? customer?.emails[0];
  const phone = who.phone ?? customer?.phones.map(usedeskPhone).find(Boolean);
  return { ...who, ...(email ? { email } : {}), ...(phone ? { phone } : {}) };
}

/**
 * Adds the customer's proven emails and phones to their client (`/update/client` adds them to
 * the client's own; it never merges clients). The player id stays on the ticket's player field.
 */
export async function addClientIdentities(http: UsedeskHttp, clientId: string, customer: CustomerView): Promise<RequesterRef> {
  const card = await http.call('read client', '/client', { client_id: Number(clientId) }, ClientContacts, { wrote: false });
  const known = new Set([...(card.emails ?? []).map((e) => e.email.toLowerCase()), ...(card.phones ?? []).map((p) => p.phone.replace(/\D/g, ''))]);
  const emails = customer.emails.filter((e) => !known.has(e));
  const phone = customer.phones.map(usedeskPhone).find((p) => p !== undefined && !known.has(p));
  if (emails.length > 0 || phone) {
    await http.call('add identities to the client', '/update/client', { client_id: Number(clientId), ...(emails.length > 0 ? { emails } : {}), ...(phone ? { phone } : {}) }, Done);
  }
  return { id: clientId };
}
