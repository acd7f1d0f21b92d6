import type { Sender } from '../../../src/core/message.ts';

export interface ZendeskUserInput {
  name: string;
  email?: string;
  external_id?: string;
  phone?: string;
  locale?: string;
  skip_verify_email: true;
}

/** Attributes that decorate a user; when Zendesk refuses one of them the user is upserted without it. */
export const OPTIONAL_USER_FIELDS = ['phone', 'locale'] as const;

function capitalized(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * The user to create or update. With an email Zendesk matches on it; without one the player id
 * (when the gateway knows it) or the channel's own id is the match key (`external_id` =
 * `<channel id>:<sender id>`). The gateway remembers the user it got for a customer, so the
 * same customer on another channel is this user again (docs/identity.md).
 */
export function requesterUser(sender: Sender, channel: { id: string; kind: string }, playerId?: string): ZendeskUserInput {
  const name =
    sender.displayName?.trim() || sender.username?.trim() || `${capitalized(channel.kind)} user ${sender.externalId}`;
  const email = sender.email?.trim();
  const user: ZendeskUserInput = email
    ? { name, email, skip_verify_email: true }
    : { name, external_id: playerId ?? `${channel.id}:${sender.externalId}`, skip_verify_email: true };
  if (sender.phone) user.phone = sender.phone;
  if (sender.locale) user.locale = sender.locale;
  return user;
}
