import type { ChannelRef } from '../connector.ts';
import type { Sender } from '../message.ts';
import { toE164 } from './phone.ts';

/**
 * A customer is a set of identifiers, each a typed string:
 * `player:<id>`, `phone:+<E.164>`, `email:<lowercased address>`, and the channel's own id for the
 * person, `user:<network or channel id>:<sender id>` (a Telegram user, a WhatsApp wa_id, a web
 * form's email). The sender's fields a channel vouches for are proofs; the rest are claims,
 * which never link anything.
 */

export type ProvableField = 'phone' | 'email' | 'playerId';
export const PROVABLE_FIELDS: readonly ProvableField[] = ['phone', 'email', 'playerId'];

export const identifier = {
  player: (id: string): string => `player:${id.trim()}`,
  phone: (e164: string): string => `phone:${e164}`,
  email: (address: string): string => `email:${address.trim().toLowerCase()}`,
  user: (namespace: string, id: string): string => `user:${namespace}:${id}`,
};

export const kindOf = (id: string): string => id.slice(0, id.indexOf(':'));
export const valueOf = (id: string): string => id.slice(id.indexOf(':') + 1);

/**
 * What each kind of channel vouches for when it sets a sender field: a messenger's phone is the
 * network's (WhatsApp's wa_id, Telegram's own shared contact) and its player id a signed /start;
 * a phone channel's number is the caller id; a form's player id is filled by the operator's site;
 * an API channel (the generic webhook) is the operator's own system, authenticated. A form's
 * typed email or phone, a number typed into a chat, a contact that is not the sender's own are
 * claims.
 */
export const DEFAULT_PROOFS: Record<ChannelRef['medium'], readonly ProvableField[]> = {
  messenger: ['phone', 'playerId'],
  phone: ['phone'],
  email: ['email'],
  form: ['playerId'],
  api: ['phone', 'email', 'playerId'],
};

/** The channel's own id for the person: what every message of theirs on this channel carries. */
export function selfIdentifier(sender: Sender, channel: ChannelRef, region: string): string {
  if (channel.medium === 'phone') {
    const phone = toE164(sender.phone ?? sender.externalId, region);
    if (phone) return identifier.phone(phone);
  }
  if (channel.medium === 'email' && sender.email) return identifier.email(sender.email);
  return identifier.user(channel.network ?? channel.id, sender.externalId);
}

export interface SenderIdentity {
  self: string;
  /** Identifiers this message proves belong to the sender (self included). */
  proven: string[];
  /** The player id the channel vouched for, if any. */
  playerId?: string;
}

export function senderIdentity(sender: Sender, channel: ChannelRef, opts: { region: string; proofs?: readonly ProvableField[] }): SenderIdentity {
  const self = selfIdentifier(sender, channel, opts.region);
  const proofs = opts.proofs ?? DEFAULT_PROOFS[channel.medium];
  const proven = [self];
  const phone = proofs.includes('phone') ? toE164(sender.phone, opts.region) : undefined;
  if (phone) proven.push(identifier.phone(phone));
  const email = proofs.includes('email') ? sender.email?.trim() : undefined;
  if (email && email.includes('@')) proven.push(identifier.email(email));
  const playerId = proofs.includes('playerId') ? sender.playerId?.trim() || undefined : undefined;
  if (playerId) proven.push(identifier.player(playerId));
  return { self, proven: [...new Set(proven)], ...(playerId ? { playerId } : {}) };
}
