import { createHash } from 'node:crypto';
import type { KeyValueStore, RequesterRef } from '../../../src/core/connector.ts';
import { z } from 'zod';
import type { CustomerView } from '../../../src/core/identity/customer.ts';
import type { Sender } from '../../../src/core/message.ts';
import { FdContact, FdContacts } from './api.ts';
import { duplicateOf } from './errors.ts';
import type { FreshdeskHttp } from './http.ts';

/** A contact id found or created is reused this long without asking Freshdesk again. */
const CONTACT_REUSE_MS = 60 * 60_000;

const capitalized = (s: string): string => s.charAt(0).toUpperCase() + s.slice(1);

export interface ContactIdentity {
  name: string;
  email?: string;
  /** `<channel id>:<sender id>`, when there is no email: the channel's own id for the customer. */
  unique_external_id?: string;
  mobile?: string;
}

/**
 * Who the customer is to Freshdesk. With an email Freshdesk matches on it; without one the
 * channel's id for the customer (`unique_external_id` = `<channel id>:<sender id>`) and, when the
 * channel knows it, the phone number (as `mobile`, looked up as `mobile` and as `phone`).
 */
export function contactIdentity(sender: Sender, channel: { id: string; kind: string }): ContactIdentity {
  const name = sender.displayName?.trim() || sender.username?.trim() || `${capitalized(channel.kind)} user ${sender.externalId}`;
  const email = sender.email?.trim().toLowerCase();
  if (email) return { name, email };
  return { name, unique_external_id: `${channel.id}:${sender.externalId}`, ...(sender.phone ? { mobile: sender.phone } : {}) };
}

/** Lookups in order: the strongest identifier first. */
function lookups(identity: ContactIdentity): Record<string, string>[] {
  if (identity.email) return [{ email: identity.email }];
  const byId: Record<string, string>[] = identity.unique_external_id ? [{ unique_external_id: identity.unique_external_id }] : [];
  const byPhone: Record<string, string>[] = identity.mobile ? [{ mobile: identity.mobile }, { phone: identity.mobile }] : [];
  return [...byId, ...byPhone];
}

async function find(http: FreshdeskHttp, identity: ContactIdentity): Promise<number | undefined> {
  for (const query of lookups(identity)) {
    const { data } = await http.request('look up contact', 'GET', '/contacts', FdContacts, { query, endpoint: 'contacts:list' });
    if (data[0]) return data[0].id;
  }
  return undefined;
}

/** Creates the contact; one that already holds its email or id (made meanwhile, or before) is used instead. */
async function create(http: FreshdeskHttp, identity: ContactIdentity): Promise<number> {
  try {
    return (await http.request('create contact', 'POST', '/contacts', FdContact, { json: identity })).data.id;
  } catch (err) {
    const dup = duplicateOf(err);
    const id = dup ? (dup.userId ?? (await find(http, identity))) : undefined;
    if (id === undefined) throw err;
    return id;
  }
}

/** Finds the customer's contact, or creates it. */
export async function upsertContact(http: FreshdeskHttp, kv: KeyValueStore, identity: ContactIdentity): Promise<RequesterRef> {
  const cacheKey = `freshdesk:contact:${createHash('sha256').update(JSON.stringify(lookups(identity))).digest('hex')}`;
  const cached = await kv.get(cacheKey);
  if (cached) {
    const [id, at] = cached.split('@');
    if (id && Date.now() - Number(at) < CONTACT_REUSE_MS) return { id };
  }
  // An email or unique_external_id is unique: creating first costs one request either way, as
  // Freshdesk answers a duplicate with the contact's id. A phone is not unique, so it is looked up.
  const id = (identity.mobile ? await find(http, identity) : undefined) ?? (await create(http, identity));
  await kv.set(cacheKey, `${id}@${Date.now()}`, { ttlMs: CONTACT_REUSE_MS });
  return { id: String(id) };
}

const FdContactCard = FdContact.extend({ other_emails: z.array(z.string()).nullish() });

/**
 * Adds a customer's proven identifiers to their contact: the player id as `unique_external_id`,
 * emails beyond the primary as `other_emails`, a phone as `mobile` (or `phone`) while those are
 * empty. A value another contact holds is named to the agents; contacts are never merged.
 */
export async function addContactIdentities(http: FreshdeskHttp, contactId: string, customer: CustomerView): Promise<RequesterRef> {
  const path = `/contacts/${encodeURIComponent(contactId)}`;
  const notes: string[] = [];
  const { data: card } = await http.request('read the requester', 'GET', path, FdContactCard);
  const known = [card.email, ...(card.other_emails ?? [])].filter((e): e is string => !!e).map((e) => e.toLowerCase());
  const update: Record<string, unknown> = {};
  if (customer.playerId && card.unique_external_id !== customer.playerId) update.unique_external_id = customer.playerId;
  const emails: string[] = [];
  for (const email of customer.emails.filter((e) => !known.includes(e))) {
    const { data } = await http.request('look up contact', 'GET', '/contacts', FdContacts, { query: { email }, endpoint: 'contacts:list' });
    const other = data.find((c) => String(c.id) !== contactId);
    if (!other) emails.push(email);
    else notes.push(`Switchboard: this customer's email ${email} is on another Freshdesk contact (${other.id}); the requester is contact ${contactId}. If they are one person, merge the contacts in Freshdesk (Switchboard never merges contacts).`);
  }
  if (emails.length > 0) update.other_emails = [...(card.other_emails ?? []), ...emails].slice(0, 10);
  const digits = (p: string | null | undefined) => (p ?? '').replace(/\D/g, '');
  const phones = customer.phones.filter((p) => digits(p) !== digits(card.mobile) && digits(p) !== digits(card.phone));
  if (phones[0] && !card.mobile) update.mobile = phones[0];
  else if (phones[0] && !card.phone) update.phone = phones[0];
  // A value another contact holds is left out (and named to the agents); the rest is written.
  while (Object.keys(update).length > 0) {
    try {
      await http.request('add identities to the requester', 'PUT', path, FdContact, { json: update });
      break;
    } catch (err) {
      const dup = duplicateOf(err);
      if (!dup || !(dup.field in update)) throw err;
      const what = dup.field === 'unique_external_id' ? `player id ${customer.playerId}` : dup.field === 'other_emails' ? `email ${emails.join(', ')}` : `${dup.field} ${String(update[dup.field])}`;
      notes.push(`Switchboard: this customer's ${what} is on another Freshdesk contact${dup.userId ? ` (${dup.userId})` : ''}; the requester is contact ${contactId}. If they are one person, merge the contacts in Freshdesk (Switchboard never merges contacts).`);
      delete update[dup.field];
    }
  }
  return { id: contactId, ...(notes.length > 0 ? { notes } : {}) };
}

/** The contact of the customer's player id when Freshdesk has one, else the sender's; then what else the customer proved. */
export async function upsertCustomerContact(http: FreshdeskHttp, kv: KeyValueStore, identity: ContactIdentity, customer?: CustomerView): Promise<RequesterRef> {
  let ref: RequesterRef | undefined;
  if (customer?.playerId) {
    const { data } = await http.request('look up contact', 'GET', '/contacts', FdContacts, { query: { unique_external_id: customer.playerId }, endpoint: 'contacts:list' });
    if (data[0]) ref = { id: String(data[0].id) };
  }
  ref ??= await upsertContact(http, kv, customer?.playerId && !identity.email ? { ...identity, unique_external_id: customer.playerId } : identity);
  const more = customer && (customer.playerId || customer.emails.length + customer.phones.length > 0);
  return more ? addContactIdentities(http, ref.id, customer) : ref;
}
