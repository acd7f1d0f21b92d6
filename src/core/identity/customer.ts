import { kindOf, valueOf } from './identifiers.ts';
import type { LastSet } from '../last-set.ts';

/** A ticket of the customer's that later conversations may join. */
export interface CustomerTicket {
  ticketId: string;
  requesterId: string;
  /** The rules' topic (payments, kyc, …, other) the ticket was opened for. */
  topic: string;
  /** Last time a message of the customer's went to it (ms). */
  at: number;
  /** What the gateway last set on it: a conversation that joins it reads it only to go beyond. */
  lastSet?: LastSet;
}

/**
 * What the gateway knows about one customer. `sharedBy` marks an identifier two players both
 * proved (a family phone): such a record holds only that identifier and belongs to nobody.
 */
export interface Customer {
  id: string;
  /** Bumped on every write; a write based on an older version is refused and redone. */
  version: number;
  identifiers: string[];
  playerId?: string;
  sharedBy?: string[];
  /** Helpdesk kind → the requester (user, contact, client) made or found for this customer. */
  requesters: Record<string, string>;
  /** Identifiers already given to that requester. */
  pushed: string[];
  tickets: CustomerTicket[];
  /** Channel id → the customer's latest conversation there (its key): where a reply via that channel goes. */
  conversations?: Record<string, string>;
  /**
   * Conversations opening a ticket for the customer right now (join: open-ticket). Another new
   * conversation on a topic that fits waits for that ticket instead of opening a second one.
   */
  opening?: Opening[];
}

/** A conversation's claim to open the customer's next ticket for a topic. */
export interface Opening {
  conversationKey: string;
  topic: string;
  /** When it was claimed (ms); renewed by every attempt of its delivery, void after OPENING_TTL_MS. */
  at: number;
}

/** A claim not renewed for this long is void: its delivery died (dead-lettered) or waits out a long backoff. */
export const OPENING_TTL_MS = 5 * 60_000;

export interface CustomerChange {
  /** Customers read for this change, at the version read: the write happens only if none moved. */
  expected: { id: string; version: number }[];
  /**
   * Identifiers read as nobody's: the write happens only if they still are (two first messages
   * of one customer, linked at once, make one customer, not two with the same player id).
   */
  unowned?: string[];
  /** Customers to write (versions already bumped); the store points each of their identifiers at them. */
  put: Customer[];
  /** Customers merged into another and to be deleted. */
  remove: string[];
}

/** The runtime's part: customers and the identifier → customer index, with an all-or-nothing write. */
export interface IdentityStore {
  /** The customers these identifiers belong to, each once. */
  find(identifiers: string[]): Promise<Customer[]>;
  /** Applies the change atomically; false (nothing written) when an expected customer changed or vanished, or an unowned identifier got an owner. */
  commit(change: CustomerChange): Promise<boolean>;
}

/** What a helpdesk is told about a customer beyond one message's sender. */
export interface CustomerView {
  playerId?: string;
  phones: string[];
  emails: string[];
}

export function viewOf(customer: Pick<Customer, 'identifiers' | 'playerId'>): CustomerView {
  const of = (kind: string) => customer.identifiers.filter((i) => kindOf(i) === kind).map(valueOf);
  return { ...(customer.playerId ? { playerId: customer.playerId } : {}), phones: of('phone'), emails: of('email') };
}

export function newCustomer(id: string, identifiers: string[], playerId?: string): Customer {
  return { id, version: 0, identifiers: [...new Set(identifiers)], ...(playerId ? { playerId } : {}), requesters: {}, pushed: [], tickets: [] };
}

const playerOf = (ids: string[]): string[] => ids.filter((i) => kindOf(i) === 'player').map(valueOf);

export interface LinkPlan {
  change: CustomerChange;
  /** The sender's customer after the change. */
  customer: Customer;
  /** What was not linked, and why, for the agents. */
  refused: string[];
}

/**
 * Links the identifiers one message proved (`ids[0]` is the sender's own) into one customer.
 *
 * The policy: a customer has at most one player id. An identifier that would bring a second
 * player in (a phone already proven by another player) is not linked to either: it is moved to
 * a record of its own marked as shared by both players, so that nothing ever joins through it.
 * A player id that contradicts the sender's own customer's player is refused outright.
 */
export function planLink(found: Customer[], ids: string[], newId: () => string): LinkPlan {
  const owner = (id: string) => found.find((c) => c.identifiers.includes(id));
  const refused: string[] = [];
  const expected = found.map((c) => ({ id: c.id, version: c.version }));
  const unowned = ids.filter((id) => !owner(id));
  const self = ids[0]!;
  const selfCustomer = owner(self);
  if (selfCustomer?.sharedBy) {
    // The sender's own id is a shared phone: it speaks for nobody, and proves nothing further.
    return { change: { expected, put: [], remove: [] }, customer: selfCustomer, refused: [] };
  }
  const anchor: Customer = selfCustomer ? structuredClone(selfCustomer) : newCustomer(newId(), [self]);
  const provenPlayers = [...new Set(playerOf(ids))];
  let player = anchor.playerId;
  for (const p of provenPlayers) {
    if (player === undefined) player = p;
    else if (p !== player) refused.push(`player ${p}: this ${describe(self)} is already linked to player ${player}; the link was not made`);
  }

  const put = new Map<string, Customer>();
  const remove = new Set<string>();
  for (const id of ids.slice(1)) {
    if (kindOf(id) === 'player' && valueOf(id) !== player) continue;
    const other = owner(id);
    if (other?.id === anchor.id || anchor.identifiers.includes(id)) continue;
    if (!other) {
      anchor.identifiers.push(id);
      continue;
    }
    if (other.sharedBy) {
      if (player && !other.sharedBy.includes(player)) put.set(other.id, { ...other, version: other.version + 1, sharedBy: [...other.sharedBy, player] });
      refused.push(`${describe(id)} is shared by players ${[...new Set([...other.sharedBy, ...(player ? [player] : [])])].join(', ')}; it links none of them`);
      continue;
    }
    if (other.playerId && player && other.playerId !== player) {
      // A second player proved this identifier: it leaves the first player's customer and belongs to nobody.
      const rest = put.get(other.id) ?? structuredClone(other);
      rest.identifiers = rest.identifiers.filter((i) => i !== id);
      rest.pushed = rest.pushed.filter((i) => i !== id);
      rest.version = other.version + 1;
      put.set(other.id, rest);
      put.set(`shared:${id}`, { ...newCustomer(newId(), [id]), sharedBy: [other.playerId, player] });
      refused.push(`${describe(id)} is proven by players ${other.playerId} and ${player}; it now links neither (a shared phone or address)`);
      continue;
    }
    // Same player or at most one player between them: one customer.
    player ??= other.playerId;
    const merged = put.get(other.id) ?? other;
    anchor.identifiers.push(...merged.identifiers.filter((i) => !anchor.identifiers.includes(i)));
    for (const [kind, requester] of Object.entries(merged.requesters)) anchor.requesters[kind] ??= requester;
    anchor.tickets.push(...merged.tickets.filter((t) => !anchor.tickets.some((x) => x.ticketId === t.ticketId)));
    for (const [channelId, key] of Object.entries(merged.conversations ?? {})) (anchor.conversations ??= {})[channelId] ??= key;
    if (merged.opening?.length) anchor.opening = [...(anchor.opening ?? []), ...merged.opening];
    put.delete(other.id);
    remove.add(other.id);
  }
  if (player !== undefined) anchor.playerId = player;
  const changed = !selfCustomer || remove.size > 0 || put.size > 0 || anchor.identifiers.length !== selfCustomer.identifiers.length || anchor.playerId !== selfCustomer.playerId;
  if (!changed) return { change: { expected, put: [], remove: [] }, customer: selfCustomer, refused };
  anchor.version = (selfCustomer?.version ?? -1) + 1;
  return { change: { expected, unowned, put: [anchor, ...put.values()], remove: [...remove] }, customer: anchor, refused };
}

function describe(id: string): string {
  const kind = kindOf(id);
  const value = valueOf(id);
  if (kind === 'phone') return `phone ${value}`;
  if (kind === 'email') return `email ${value}`;
  if (kind === 'player') return `player ${value}`;
  return `${value.slice(0, value.indexOf(':'))} account ${value.slice(value.indexOf(':') + 1)}`;
}

/** Two topics share a ticket when they are the same, or one of them is none in particular (a missed call). */
const topicsFit = (a: string, b: string): boolean => a === b || a === 'other' || b === 'other';

/**
 * The customer's ticket a new conversation joins: the newest one for the same topic (a message
 * without a topic, such as a missed call, matches any) touched within `withinMs`.
 */
export function ticketToJoin(customer: Customer, topic: string, now: number, withinMs: number): CustomerTicket | undefined {
  const fits = (t: CustomerTicket) => now - t.at <= withinMs && topicsFit(t.topic, topic);
  return [...customer.tickets].sort((a, b) => b.at - a.at).find(fits);
}

/** Another conversation's live claim to open the ticket this one would join. */
export function openedByAnother(customer: Customer, topic: string, conversationKey: string, now: number): Opening | undefined {
  return customer.opening?.find((o) => o.conversationKey !== conversationKey && now - o.at < OPENING_TTL_MS && topicsFit(o.topic, topic));
}

/** The customer's claims with this conversation's (re)claim and without void ones. */
export function claimOpening(customer: Customer, claim: Opening): Opening[] {
  return [...(customer.opening ?? []).filter((o) => o.conversationKey !== claim.conversationKey && claim.at - o.at < OPENING_TTL_MS), claim];
}

/** Keeps the few newest tickets: older ones are past any join window. */
export function rememberTicket(customer: Customer, ticket: CustomerTicket, keep = 10): CustomerTicket[] {
  return [ticket, ...customer.tickets.filter((t) => t.ticketId !== ticket.ticketId)].sort((a, b) => b.at - a.at).slice(0, keep);
}
