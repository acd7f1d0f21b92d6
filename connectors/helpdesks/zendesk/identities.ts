import { z } from 'zod';
import type { RequesterRef } from '../../../src/core/connector.ts';
import type { CustomerView } from '../../../src/core/identity/customer.ts';
import { UserResponse, ZdUser } from './api.ts';
import { rejectedFields } from './errors.ts';
import type { ZendeskHttp } from './http.ts';

/**
 * One Zendesk user per customer: the player id is the user's `external_id`, each proven email and
 * phone an identity of that user (POST /users/{id}/identities). Zendesk refuses an identity another
 * user holds; the gateway never merges users, so it names the other user to the agents instead.
 */

const Identities = z.looseObject({ identities: z.array(z.looseObject({ type: z.string(), value: z.string() })) });
const Users = z.looseObject({ users: z.array(ZdUser) });

const digits = (phone: string) => phone.replace(/\D/g, '');

/** The end user whose external_id is this player id, if Zendesk has one. */
export async function userOfPlayer(http: ZendeskHttp, playerId: string): Promise<number | undefined> {
  const { data } = await http.request('look up the player\'s user', 'GET', '/users/search', Users, { query: { external_id: playerId } });
  return data.users.find((u) => u.id !== null)?.id ?? undefined;
}

async function holderOf(http: ZendeskHttp, query: Record<string, string>, not: number): Promise<string> {
  const { data } = await http.request('look up who holds an identity', 'GET', '/users/search', Users, { query });
  const other = data.users.find((u) => u.id !== null && u.id !== not);
  return other ? `user ${other.id}${other.name ? ` (${other.name})` : ''}` : 'another user';
}

export async function addZendeskIdentities(http: ZendeskHttp, userId: number, customer: CustomerView): Promise<RequesterRef> {
  const notes: string[] = [];
  const belongs = (what: string, holder: string) =>
    notes.push(`Switchboard: ${what} belongs to this customer but Zendesk has it on ${holder}; the requester is user ${userId}. If they are one person, merge the users in Zendesk (Switchboard never merges users).`);
  const path = `/users/${userId}`;
  const { data } = await http.request('read the requester\'s identities', 'GET', `${path}/identities`, Identities);
  const has = (type: string, value: string) => data.identities.some((i) => i.type === type && (type === 'phone_number' ? digits(i.value) === digits(value) : i.value.toLowerCase() === value.toLowerCase()));
  const wanted = [
    ...customer.emails.map((value) => ({ type: 'email', value })),
    ...customer.phones.map((value) => ({ type: 'phone_number', value })),
  ].filter((i) => !has(i.type, i.value));
  for (const identity of wanted) {
    try {
      await http.request(`add ${identity.type} to the requester`, 'POST', `${path}/identities`, z.unknown(), { json: { identity } });
    } catch (err) {
      if (!rejectedFields(err).includes('value')) throw err;
      belongs(`${identity.type === 'email' ? 'email' : 'phone'} ${identity.value}`, await holderOf(http, { query: identity.value }, userId));
    }
  }
  if (customer.playerId) {
    const { data: user } = await http.request('read the requester', 'GET', path, UserResponse);
    const current = (user.user as { external_id?: string | null }).external_id;
    if (current?.toLowerCase() !== customer.playerId.toLowerCase()) {
      try {
        await http.request('set the requester\'s player id', 'PUT', path, UserResponse, { json: { user: { external_id: customer.playerId } } });
      } catch (err) {
        if (!rejectedFields(err).includes('external_id')) throw err;
        belongs(`player id ${customer.playerId}`, await holderOf(http, { external_id: customer.playerId }, userId));
      }
    }
  }
  return { id: String(userId), ...(notes.length > 0 ? { notes } : {}) };
}
