import { isDeepStrictEqual } from 'node:util';
import type { AttemptContext, ChannelRef, Conversation, HelpdeskInstance, Logger, RequesterRef } from '../connector.ts';
import { DeliveryError } from '../errors.ts';
import type { NormalizedMessage, Sender } from '../message.ts';
import {
  claimOpening,
  openedByAnother,
  planLink,
  rememberTicket,
  ticketToJoin,
  viewOf,
  type Customer,
  type CustomerChange,
  type CustomerTicket,
  type IdentityStore,
  type LinkPlan,
  type Opening,
} from './customer.ts';
import { identifier, selfIdentifier, senderIdentity } from './identifiers.ts';
import type { IdentityOptions } from './options.ts';
import { answeredCustomer } from './reply-via.ts';

/**
 * The pipeline's one door to identities: who a message's sender is (linking what the message
 * proves), which of their tickets a new conversation joins, and their one helpdesk user.
 */

export interface Recognized {
  /** The customer; undefined when the sender's own id is shared by two players (it speaks for nobody). */
  customer?: Customer;
  /** The player id the gateway knows for the sender: their customer's, or the one the channel vouched for. */
  playerId?: string;
  notes: string[];
}

export interface IdentityService {
  readonly options: IdentityOptions;
  /** The helpdesk maps `options.ticketField` to one of its fields (an unmapped field would be refused). */
  readonly ticketFieldMapped: boolean;
  /**
   * Links what the message proves and returns the sender's customer. `conversation`: the one it
   * continues, if any. A verified answer in a conversation the gateway opened for a customer (an
   * email from the address it wrote to, replying to that mail) links the sender to that customer.
   * Anyone but that conversation's customer writing into it (a CC'd address, a stranger answering a
   * forwarded mail, an unverified mail into a thread opened for a customer) is returned as nobody:
   * their message goes to the conversation's ticket and neither gives to nor takes from that
   * customer's helpdesk user, tickets or player id.
   */
  recognize(message: NormalizedMessage, channel: ChannelRef, conversation?: Pick<Conversation, 'sender' | 'meta'>): Promise<Recognized>;
  /** A trusted rule found the player id in the message: link it like a proof. */
  linkPlayer(message: NormalizedMessage, channel: ChannelRef, playerId: string): Promise<Recognized>;
  /**
   * The ticket a new conversation of this customer joins under the `join` policy; undefined when
   * it opens one, and then it holds the customer's claim to do so until `remember`. While another
   * conversation of the customer holds a claim for a topic that fits, it waits a few seconds for
   * that ticket, then throws a retry: two conversations delivered at once open one ticket.
   */
  joinOrOpen(customer: Customer | undefined, topic: string, conversationKey: string): Promise<CustomerTicket | undefined>;
  /** The customer an identifier belongs to, as stored (nothing is linked); undefined for a shared identifier. */
  customerOf(identifier: string): Promise<Customer | undefined>;
  /** The identifier the channel knows this sender by. */
  selfOf(sender: Sender, channel: ChannelRef): string;
  /**
   * The customer's helpdesk user: `known` (the conversation's) or the one made for the customer
   * before, given what was proven since; otherwise found or created by the helpdesk.
   */
  requester(customer: Customer | undefined, message: NormalizedMessage, channel: ChannelRef, ctx: AttemptContext, known?: string): Promise<RequesterRef>;
  /** The customer's message of this conversation went to this ticket (their claim to open one ends). */
  remember(customer: Customer | undefined, ticket: Omit<CustomerTicket, 'at'>, conversation: { channelId: string; key: string }): Promise<void>;
}

export interface IdentityDeps {
  store: IdentityStore;
  options: IdentityOptions;
  helpdesk: HelpdeskInstance;
  /** Symbolic field names the helpdesk config maps (`helpdesk.fields`). */
  helpdeskFields: readonly string[];
  log: Logger;
  newId: () => string;
  now?: () => number;
}

/** Commits retried on a conflict: another worker linked the same customer in between. */
const MAX_TRIES = 8;
/** How long a new conversation waits in place for the ticket another one of the customer is opening. */
const OPENING_WAIT_MS = 5_000;
/**
 * A message to the ticket the customer's record already names first, as it names it, writes the
 * record again only once its time is this old: the time only measures the join window, which is
 * hours long, and a chat's follow-ups would otherwise each cost a write of the whole record.
 */
export const REMEMBER_AGAIN_MS = 60_000;

/** The customer's newest ticket is this one, with this requester, topic and lastSet, for this conversation, remembered lately. */
function remembered(c: Customer, ticket: Omit<CustomerTicket, 'at'>, conversation: { channelId: string; key: string }, at: number): boolean {
  const newest = c.tickets[0];
  return (
    newest !== undefined &&
    newest.ticketId === ticket.ticketId &&
    newest.requesterId === ticket.requesterId &&
    newest.topic === ticket.topic &&
    isDeepStrictEqual(newest.lastSet, ticket.lastSet) &&
    at - newest.at < REMEMBER_AGAIN_MS &&
    c.conversations?.[conversation.channelId] === conversation.key &&
    !c.opening?.some((o) => o.conversationKey === conversation.key)
  );
}

const unchanged = (customer: Customer): LinkPlan => ({ change: { expected: [], put: [], remove: [] }, customer, refused: [] });

/** A write of `edit` applied to `current`, planned on its version. */
function edited(current: Customer, edit: (c: Customer) => void): LinkPlan {
  const next = structuredClone(current);
  edit(next);
  next.version = current.version + 1;
  return { change: { expected: [{ id: current.id, version: current.version }], put: [next], remove: [] }, customer: next, refused: [] };
}

export function createIdentityService(deps: IdentityDeps): IdentityService {
  const { store, options, helpdesk, log } = deps;
  const now = deps.now ?? Date.now;
  const region = options.defaultRegion ?? 'ZZ';

  /**
   * Customers as this process last read or committed them. A change planned on one is committed
   * without reading it first: the commit checks its version, so one written elsewhere meanwhile
   * is read afresh and planned again. A delivery's writes (the claim to open a ticket, the ticket it
   * went to) then cost one round trip each on Redis instead of a read and a write.
   */
  const latest = new Map<string, Customer>();
  function committed(change: CustomerChange, customer: Customer): void {
    if (latest.size >= 10_000) latest.clear();
    for (const id of change.remove) latest.delete(id);
    for (const c of change.put) latest.set(c.id, c);
    if (!customer.sharedBy) latest.set(customer.id, customer);
  }
  const writes = (plan: LinkPlan) => plan.change.put.length > 0 || plan.change.remove.length > 0;

  /** Reads, changes and commits one customer; redone from a fresh read when another process wrote first. */
  async function update(ids: string[], change: (found: Customer[]) => LinkPlan): Promise<LinkPlan> {
    for (let tries = 1; ; tries++) {
      const plan = change(await store.find(ids));
      if (!writes(plan) || (await store.commit(plan.change))) {
        committed(plan.change, plan.customer);
        return plan;
      }
      if (tries >= MAX_TRIES) throw new Error(`customer ${ids[0]} kept changing under us (${tries} tries)`);
    }
  }

  async function link(ids: string[], channelPlayer?: string): Promise<Recognized> {
    const plan = await update(ids, (found) => planLink(found, ids, deps.newId));
    const shared = plan.customer.sharedBy !== undefined;
    const notes = plan.refused.map((r) => `Switchboard identity: ${r}.`);
    if (shared) notes.push(`Switchboard identity: ${ids[0]!.replace(/^phone:/, 'phone ')} is shared by players ${plan.customer.sharedBy!.join(', ')}; this conversation is not joined to any of their tickets (docs/identity.md).`);
    if (plan.refused.length > 0) log.info({ customer: plan.customer.id, refused: plan.refused.length }, 'identity links refused');
    const customer = shared ? undefined : plan.customer;
    const playerId = customer?.playerId ?? channelPlayer;
    return { ...(customer ? { customer } : {}), ...(playerId ? { playerId } : {}), notes };
  }

  /**
   * Reads the customer afresh (the one it was merged into, if it was) and plans a change on it;
   * committed only if nobody wrote in between, else planned again.
   */
  async function amend(customer: Customer, plan: (current: Customer) => LinkPlan): Promise<void> {
    // First on the customer as last seen here. A plan that writes nothing is not checked by a
    // commit, so it is made again on a fresh read.
    const guess = plan(latest.get(customer.id) ?? customer);
    if (writes(guess) && (await store.commit(guess.change))) return committed(guess.change, guess.customer);
    await update(customer.identifiers, (found) => {
      const current = found.find((c) => c.id === customer.id) ?? found.find((c) => !c.sharedBy);
      return current ? plan(current) : unchanged(customer);
    });
  }

  return {
    options,
    ticketFieldMapped: deps.helpdeskFields.includes(options.ticketField),

    async recognize(message, channel, conversation) {
      const who = senderIdentity(message.sender, channel, { region, proofs: options.proofs[channel.id] });
      const answered = answeredCustomer(conversation, message);
      // A verified answer: the sender's identifiers join the customer who was answered (anchored there, so
      // a conflict makes the sender's address shared rather than moving that customer's own id).
      const recognized = await link(answered && answered !== who.self ? [answered, ...who.proven] : who.proven, who.playerId);
      // The conversation is its owner's: the customer a thread was opened for, else the one its sender is.
      const openedFor = conversation?.meta?.['openedFor'];
      const owner = typeof openedFor === 'string' ? openedFor : conversation && selfIdentifier(conversation.sender, channel, region);
      if (owner !== undefined && !recognized.customer?.identifiers.includes(owner)) return { notes: recognized.notes };
      return recognized;
    },

    async linkPlayer(message, channel, playerId) {
      const who = senderIdentity(message.sender, channel, { region, proofs: options.proofs[channel.id] });
      return link([...who.proven, identifier.player(playerId)], who.playerId ?? playerId);
    },

    async joinOrOpen(customer, topic, conversationKey) {
      if (!customer || options.join !== 'open-ticket') return undefined;
      const waitUntil = now() + OPENING_WAIT_MS;
      for (let pause = 50; ; pause = Math.min(pause * 2, 800)) {
        let seen: { join?: CustomerTicket; busy?: Opening } = {};
        // The check and the claim are one compare-and-set on the customer: of two conversations deciding at
        // once, one commits its claim and the other's commit is refused and re-planned, seeing that claim.
        await amend(customer, (current) => {
          const at = now();
          const join = ticketToJoin(current, topic, at, options.joinWindowHours * 3600_000);
          seen = { join, busy: join ? undefined : openedByAnother(current, topic, conversationKey, at) };
          if (seen.join || seen.busy) return unchanged(current);
          return edited(current, (c) => {
            c.opening = claimOpening(c, { conversationKey, topic, at });
          });
        });
        if (seen.join || !seen.busy) return seen.join;
        if (now() >= waitUntil) {
          throw new DeliveryError(`another conversation of this customer (${seen.busy.conversationKey}) is opening their ticket; this one joins it once it is there`, { kind: 'retry' });
        }
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    },

    async customerOf(id) {
      const [customer] = await store.find([id]);
      return customer?.sharedBy ? undefined : customer;
    },

    selfOf: (sender, channel) => selfIdentifier(sender, channel, region),

    async requester(customer, message, channel, ctx, known) {
      const kind = helpdesk.kind;
      if (!customer) return known ? { id: known } : helpdesk.upsertRequester(message.sender, channel, ctx);
      const view = viewOf(customer);
      const existing = known ?? customer.requesters[kind];
      let ref: RequesterRef;
      if (existing) {
        const fresh = customer.identifiers.filter((i) => !customer.pushed.includes(i) && /^(phone|email|player):/.test(i));
        ref = fresh.length > 0 && helpdesk.addIdentities ? await helpdesk.addIdentities(existing, view, ctx) : { id: existing };
      } else {
        ref = await helpdesk.upsertRequester(message.sender, channel, ctx, view);
      }
      if (customer.requesters[kind] !== ref.id || customer.identifiers.some((i) => !customer.pushed.includes(i))) {
        await amend(customer, (current) => edited(current, (c) => {
          c.requesters[kind] ??= ref.id;
          c.pushed = [...new Set([...c.pushed, ...customer.identifiers])];
        }));
      }
      return ref;
    },

    async remember(customer, ticket, conversation) {
      if (!customer || remembered(latest.get(customer.id) ?? customer, ticket, conversation, now())) return;
      await amend(customer, (current) => edited(current, (c) => {
        c.tickets = rememberTicket(c, { ...ticket, at: now() });
        (c.conversations ??= {})[conversation.channelId] = conversation.key;
        const opening = c.opening?.filter((o) => o.conversationKey !== conversation.key) ?? [];
        if (opening.length > 0) c.opening = opening;
        else delete c.opening;
      }));
    },
  };
}
