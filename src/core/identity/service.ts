import type { AttemptContext, ChannelRef, HelpdeskInstance, Logger, RequesterRef } from '../connector.ts';
import type { NormalizedMessage } from '../message.ts';
import { planLink, rememberTicket, ticketToJoin, viewOf, type Customer, type CustomerTicket, type IdentityStore, type LinkPlan } from './customer.ts';
import { identifier, senderIdentity } from './identifiers.ts';
import type { IdentityOptions } from './options.ts';

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
  /** Links what the message proves and returns the sender's customer. */
  recognize(message: NormalizedMessage, channel: ChannelRef): Promise<Recognized>;
  /** A trusted rule found the player id in the message: link it like a proof. */
  linkPlayer(message: NormalizedMessage, channel: ChannelRef, playerId: string): Promise<Recognized>;
  /** The ticket a new conversation of this customer joins, under the `join` policy. */
  ticketToJoin(customer: Customer | undefined, topic: string): CustomerTicket | undefined;
  /**
   * The customer's helpdesk user: `known` (the conversation's) or the one made for the customer
   * before, given what was proven since; otherwise found or created by the helpdesk.
   */
  requester(customer: Customer | undefined, message: NormalizedMessage, channel: ChannelRef, ctx: AttemptContext, known?: string): Promise<RequesterRef>;
  /** The customer's message went to this ticket. */
  remember(customer: Customer | undefined, ticket: Omit<CustomerTicket, 'at'>): Promise<void>;
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

export function createIdentityService(deps: IdentityDeps): IdentityService {
  const { store, options, helpdesk, log } = deps;
  const now = deps.now ?? Date.now;
  const region = options.defaultRegion ?? 'ZZ';

  /** Reads, changes and commits one customer; redone from a fresh read when another process wrote first. */
  async function update(ids: string[], change: (found: Customer[]) => LinkPlan): Promise<LinkPlan> {
    for (let tries = 1; ; tries++) {
      const plan = change(await store.find(ids));
      if (plan.change.put.length === 0 && plan.change.remove.length === 0) return plan;
      if (await store.commit(plan.change)) return plan;
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

  /** Writes `edit` onto the customer with a fresh read each try. */
  async function amend(customer: Customer, edit: (c: Customer) => void): Promise<void> {
    await update([customer.identifiers[0]!], (found) => {
      const current = found.find((c) => c.id === customer.id) ?? found[0];
      if (!current) return { change: { expected: [], put: [], remove: [] }, customer, refused: [] };
      const next = structuredClone(current);
      edit(next);
      next.version = current.version + 1;
      return { change: { expected: [{ id: current.id, version: current.version }], put: [next], remove: [] }, customer: next, refused: [] };
    });
  }

  return {
    options,
    ticketFieldMapped: deps.helpdeskFields.includes(options.ticketField),

    async recognize(message, channel) {
      const who = senderIdentity(message.sender, channel, { region, proofs: options.proofs[channel.id] });
      return link(who.proven, who.playerId);
    },

    async linkPlayer(message, channel, playerId) {
      const who = senderIdentity(message.sender, channel, { region, proofs: options.proofs[channel.id] });
      return link([...who.proven, identifier.player(playerId)], who.playerId ?? playerId);
    },

    ticketToJoin(customer, topic) {
      if (!customer || options.join !== 'open-ticket') return undefined;
      return ticketToJoin(customer, topic, now(), options.joinWindowHours * 3600_000);
    },

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
        await amend(customer, (c) => {
          c.requesters[kind] ??= ref.id;
          c.pushed = [...new Set([...c.pushed, ...customer.identifiers])];
        });
      }
      return ref;
    },

    async remember(customer, ticket) {
      if (!customer) return;
      await amend(customer, (c) => {
        c.tickets = rememberTicket(c, { ...ticket, at: now() });
      });
    },
  };
}
