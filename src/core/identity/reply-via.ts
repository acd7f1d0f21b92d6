import { createHash } from 'node:crypto';
import type { ChannelRef, Conversation } from '../connector.ts';
import { conversationKey, type Link, type LinkStore } from '../jobs.ts';
import type { NormalizedMessage } from '../message.ts';
import { viewOf, type Customer } from './customer.ts';
import type { IdentityService } from './service.ts';

/**
 * Where an agent's reply goes. By default to the conversation the customer wrote on last; an
 * agent chooses another channel with the ticket tag `reply_via_<channel id>`, and the reply goes
 * to the same customer's conversation there. An email channel can open one: to an address the
 * customer proved, else to one they gave (a form's email field); their answer from that address
 * is what proves it is theirs (`answeredCustomer`).
 */

export const REPLY_VIA_TAG = 'reply_via_';

/** As helpdesks keep tags: lower case; `-` is written `_` (channel `support-mail` is tag `reply_via_support_mail`). */
const tagForm = (s: string): string => s.trim().toLowerCase().replace(/-/g, '_');

export const replyViaTag = (channelId: string): string => REPLY_VIA_TAG + tagForm(channelId);

/** The configured channel the ticket's tags ask replies to go out on; `unknown` when the tag names none. */
export function chosenChannel(tags: readonly string[], channelIds: readonly string[]): { channelId: string; tag: string } | { unknown: string } | undefined {
  const asked = tags.map(tagForm).filter((t) => t.startsWith(REPLY_VIA_TAG) && t.length > REPLY_VIA_TAG.length);
  for (const tag of asked) {
    const channelId = channelIds.find((id) => replyViaTag(id) === tag);
    if (channelId) return { channelId, tag };
  }
  return asked.length > 0 ? { unknown: asked[0]! } : undefined;
}

export interface ReplyRoute {
  /** The conversation the reply goes to. */
  link: Link;
  /** For the agents (a private note): where it went instead of where the ticket asked, and why. */
  notes: string[];
  /**
   * `link` is a mail thread opened for this reply and not stored yet: the delivery leaves it as its
   * outcome, so the runtime writes it with the reply jobs that go to it (RunOutcome), never before.
   */
  opened?: true;
}

export interface ReplyRouteDeps {
  links: Pick<LinkStore, 'get'>;
  identity?: Pick<IdentityService, 'customerOf' | 'selfOf'>;
  /** The configured channels. */
  channels: ReadonlyMap<string, ChannelRef>;
  now?: () => number;
}

/** Where a reply on this ticket goes: `last` is the conversation the customer wrote on last, `tags` the ticket's. */
export async function routeReply(deps: ReplyRouteDeps, ticketId: string, last: Link, tags: readonly string[]): Promise<ReplyRoute> {
  const choice = chosenChannel(tags, [...deps.channels.keys()]);
  if (!choice) return { link: last, notes: [] };
  const fallback = `the reply went to ${last.channelId}, where the customer wrote last`;
  if ('unknown' in choice) {
    const known = [...deps.channels.keys()].map(replyViaTag).join(', ');
    return { link: last, notes: [`the ticket's tag ${choice.unknown} names no channel of this gateway (the tags are ${known}); ${fallback}.`] };
  }
  if (choice.channelId === last.channelId) return { link: last, notes: [] };
  const from = deps.channels.get(last.channelId);
  // Whose conversation it is: the customer a thread was opened for, else the one its sender is.
  const openedFor = last.conversation.meta?.['openedFor'];
  const self = typeof openedFor === 'string' ? openedFor : from && deps.identity?.selfOf(last.conversation.sender, from);
  const customer = self && deps.identity ? await deps.identity.customerOf(self) : undefined;
  const key = customer?.conversations?.[choice.channelId];
  const there = key ? await deps.links.get(key) : undefined;
  if (there) return { link: there, notes: [] };
  if (deps.channels.get(choice.channelId)!.medium === 'email' && self) {
    const opened = await openEmail(deps, ticketId, last, customer, choice.channelId, self);
    if (opened) return opened;
  }
  return { link: last, notes: [`the ticket asks for replies via ${choice.channelId} (tag ${choice.tag}), but the gateway knows no conversation of this customer there; ${fallback}.`] };
}

const ADDRESS = /^[^\s@<>,;]{1,64}@[^\s@<>,;]{1,190}$/;

/**
 * An email conversation the gateway opens for the ticket: to the customer's proven address, else
 * to one they gave on a conversation of theirs. Its id is the ticket and the address, so every
 * reply to them goes into one thread; it remembers whom it was opened for, so the customer's answer
 * from that address links the address to them.
 */
async function openEmail(deps: ReplyRouteDeps, ticketId: string, last: Link, customer: Customer | undefined, channelId: string, openedFor: string): Promise<ReplyRoute | undefined> {
  const proven = customer ? viewOf(customer).emails : [];
  const others = await Promise.all(Object.values(customer?.conversations ?? {}).filter((k) => k !== last.conversationKey).map((k) => deps.links.get(k)));
  const given = [last, ...others].map((l) => l?.conversation.sender.email?.trim()).find((a): a is string => a !== undefined && ADDRESS.test(a));
  const address = proven[0] ?? given;
  if (!address) return undefined;
  const to = address.toLowerCase();
  const externalId = `ticket-${ticketId}-to-${createHash('sha256').update(to).digest('hex').slice(0, 24)}`;
  const key = conversationKey(channelId, externalId);
  const unverified = proven.includes(to) ? '' : ' (the address the customer gave; not verified yet: their answer from it links it to them)';
  const notes = [`sent by email to ${address}${unverified}, as the ticket asks (tag ${replyViaTag(channelId)})`];
  const known = await deps.links.get(key);
  if (known) return { link: known, notes };
  const name = last.conversation.sender.displayName;
  // The agent's choice is newer than anything the customer wrote before it: the ticket's latest conversation.
  const at = (deps.now ?? Date.now)();
  return {
    link: {
      conversationKey: key,
      channelId,
      ticketId,
      requesterId: last.requesterId,
      conversation: {
        channelId,
        externalId,
        ...(last.conversation.subject ? { subject: last.conversation.subject } : {}),
        sender: { externalId: to, email: address, ...(name ? { displayName: name } : {}) },
        meta: { openedFor, openedTo: to },
      },
      createdAt: at,
      firedRules: last.firedRules,
      latestAt: at,
    },
    notes,
    opened: true,
  };
}

/**
 * The customer a message verifiably answers: an email, from the address the gateway opened the
 * conversation to, that replies to the gateway's own mail (the email channel checks the
 * Message-ID and the From address and sets `sender.addressVerified`). Undefined otherwise.
 */
export function answeredCustomer(conversation: Pick<Conversation, 'meta'> | undefined, message: Pick<NormalizedMessage, 'sender'>): string | undefined {
  const openedFor = conversation?.meta?.['openedFor'];
  const openedTo = conversation?.meta?.['openedTo'];
  if (typeof openedFor !== 'string' || typeof openedTo !== 'string') return undefined;
  return message.sender.addressVerified === true && message.sender.email?.trim().toLowerCase() === openedTo ? openedFor : undefined;
}
