import { createHash } from 'node:crypto';
import type { KeyValueStore, RequesterRef } from '../../../src/core/connector.ts';
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

/** Finds the customer's contact, or creates it; a create that collides with a contact made meanwhile uses that one. */
export async function upsertContact(http: FreshdeskHttp, kv: KeyValueStore, identity: ContactIdentity): Promise<RequesterRef> {
  const cacheKey = `freshdesk:contact:${createHash('sha256').update(JSON.stringify(lookups(identity))).digest('hex')}`;
  const cached = await kv.get(cacheKey);
  if (cached) {
    const [id, at] = cached.split('@');
    if (id && Date.now() - Number(at) < CONTACT_REUSE_MS) return { id };
  }
  let id = await find(http, identity);
  if (id === undefined) {
    try {
      ({ data: { id } } = await http.request('create contact', 'POST', '/contacts', FdContact, { json: identity }));
    } catch (err) {
      const dup = duplicateOf(err);
      if (!dup) throw err;
      id = dup.userId ?? (await find(http, identity));
      if (id === undefined) throw err;
    }
  }
  await kv.set(cacheKey, `${id}@${Date.now()}`);
  return { id: String(id) };
}
