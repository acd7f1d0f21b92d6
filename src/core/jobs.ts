import { z } from 'zod';
import { NormalizedMessage } from './message.ts';
import type { Conversation } from './connector.ts';
import type { LastSet } from './last-set.ts';
import { CsatStep } from './csat/steps.ts';

/**
 * Work that waits in a runtime. Every job has a dedupe key (insert-if-absent),
 * a lane (jobs of one lane run one at a time, in order) and a target (what it
 * talks to, so a rate-limited helpdesk pauses only the jobs that need it).
 */

const AgentReplyPayload = z.object({
  ticketId: z.string(),
  commentId: z.string(),
  text: z.string(),
  html: z.string().optional(),
  attachments: z.array(z.object({ name: z.string(), mime: z.string(), url: z.string(), size: z.number().optional() })),
  createdAt: z.string().optional(),
});

/** A notice composed when it was queued (the SLA watch's), sent as it is. */
export const ReadyNotice = z.object({
  headline: z.string().optional(),
  ticketId: z.string(),
  ticketUrl: z.string().optional(),
  rules: z.array(z.string()),
  priority: z.string().optional(),
  tags: z.array(z.string()),
  channel: z.object({ id: z.string(), kind: z.string() }),
  senderName: z.string().optional(),
  text: z.string(),
});

export const JobPayload = z.discriminatedUnion('kind', [
  /** A customer message on its way to the helpdesk. */
  z.object({ kind: z.literal('inbound'), message: NormalizedMessage }),
  /** Look for new public agent comments on a ticket; `tags`: the ticket's, when the agent event carried them. */
  z.object({ kind: z.literal('sync'), ticketId: z.string(), tags: z.array(z.string()).optional() }),
  /**
   * An agent's comment on its way to the customer's channel: to conversation `to` when the ticket
   * chose one (a `reply_via_` tag), else where the customer wrote last; `notes` for the agents.
   */
  z.object({ kind: z.literal('reply'), reply: AgentReplyPayload, to: z.string().optional(), notes: z.array(z.string()).optional() }),
  /** An automatic reply (rule `reply:`) on its way to the customer. */
  z.object({ kind: z.literal('autoreply'), conversationKey: z.string(), ticketId: z.string(), text: z.string(), name: z.string() }),
  /** A private note for the agents. */
  z.object({ kind: z.literal('note'), ticketId: z.string(), text: z.string() }),
  /** An escalation notice to a notifier target. */
  z.object({
    kind: z.literal('notify'),
    target: z.string(),
    ticketId: z.string(),
    ticketUrl: z.string().optional(),
    rule: z.string(),
    message: NormalizedMessage,
    priority: z.string().optional(),
    tags: z.array(z.string()),
  }),
  /** Tags added to a ticket (the SLA watch's breach tag). */
  z.object({ kind: z.literal('tag'), ticketId: z.string(), tags: z.array(z.string()).min(1) }),
  /** A ready notice to a notifier target. */
  z.object({ kind: z.literal('notice'), target: z.string(), notice: ReadyNotice }),
  /** A step of the rating question after a ticket was solved (docs/csat.md). */
  z.object({ kind: z.literal('csat'), csat: CsatStep }),
  /** Work a channel put off until the conversation's sends are done (ChannelContext.afterSends). */
  z.object({ kind: z.literal('channel'), channelId: z.string(), conversation: z.string(), work: z.json() }),
]);
export type JobPayload = z.infer<typeof JobPayload>;
export type JobKind = JobPayload['kind'];

export interface NewJob {
  dedupeKey: string;
  lane: string;
  target: string;
  payload: JobPayload;
  /** Consecutive jobs of a lane with the same batch key are delivered together. */
  batchKey?: string;
  /** Who sent it (`channelId:senderId`), for the per-sender flood limit; absent for the gateway's own work. */
  sender?: string;
  /** The conversation whose link the runtime may read for the worker when it hands the job out. */
  conversation?: string;
}

/**
 * The sender was over the flood limit when the job was queued: it waits behind other senders'
 * work. `first` marks the first job of the episode (the agents are told once).
 */
export type Throttled = 'first' | 'more';

export interface Job extends NewJob {
  id: string;
  /** Attempts started so far (the current one included while running). */
  attempts: number;
  createdAt: number;
  /** The last attempt may have reached the remote side (crash, timeout). */
  ambiguous: boolean;
  throttled?: Throttled;
  /** The conversation's link as the runtime read it when it handed the job out (null: none yet; absent: not read). */
  link?: Link | null;
  /** The conversation has a link, which the runtime did not read (a job handed out to be classified needs no more). */
  linked?: true;
}

export interface DeadLetter {
  id: string;
  dedupeKey: string;
  lane: string;
  target: string;
  payload: JobPayload;
  attempts: number;
  error: string;
  /** The remote side's answer, verbatim. */
  detail?: string;
  status?: number;
  failedAt: number;
}

/** What the gateway remembers about a conversation: which ticket it lives in. */
export interface Link {
  conversationKey: string;
  channelId: string;
  ticketId: string;
  requesterId: string;
  conversation: Conversation;
  createdAt: number;
  /** Rules already reported on the ticket, so follow-ups note only new ones. */
  firedRules: string[];
  /** What the gateway last set on the ticket: a follow-up reads the ticket only to go beyond it. */
  lastSet?: LastSet;
  /**
   * When this conversation became its ticket's latest (gateway clock, ms): the customer's newest
   * message on it was received, or an agent's reply was routed to it. The runtime makes the ticket's
   * latest conversation (`byTicket`) the one with the newest, whatever order the writes come in
   * (absent: 0, the oldest).
   */
  latestAt?: number;
}

export interface LinkStore {
  get(conversationKey: string): Promise<Link | undefined>;
  /** Finds the ticket's latest conversation (`Link.latestAt`), including tickets it was linked to before. */
  byTicket(ticketId: string): Promise<Link | undefined>;
  put(link: Link): Promise<void>;
}

/** One step of a conversation's path, shown on the console: what happened, when, to which ticket. */
export interface ConversationEvent {
  at: number;
  /** `question` and `rating`: the rating question after "solved" and the customer's answer (docs/csat.md). */
  kind: 'accepted' | 'ticket' | 'reply' | 'autoreply' | 'note' | 'question' | 'rating' | 'failed';
  /** A short text for a person: a message excerpt, the rules that fired, the error. */
  text?: string;
  ticketId?: string;
  /** The ticket in the helpdesk's agent interface. */
  ticketUrl?: string;
}

/**
 * A small, expiring record of each conversation's path (the console's Conversations page).
 * Best effort: losing an entry never costs a message, so writes may be batched and dropped
 * on a crash. Bounded: the newest events per conversation, kept for a limited time.
 */
export interface ConversationLog {
  /** Appends an event; `terms` are ids a person may search by later (customer id, phone, email, ticket id). */
  record(conversationKey: string, event: ConversationEvent, terms?: string[]): Promise<void>;
  /** Oldest first. */
  events(conversationKey: string): Promise<ConversationEvent[]>;
  /** Conversation keys recorded under this term, or the conversation key itself, most recent first. */
  find(term: string, limit?: number): Promise<string[]>;
}

/** How long a conversation's path is kept after its last event, and how many events of it. */
export const CONVERSATION_LOG_LIMITS = { retentionMs: 30 * 24 * 3_600_000, eventsPerConversation: 100, conversationsPerTerm: 20 };

/** Search terms are compared without case, `#1234` and `@name` as `1234` and `name`, phone numbers as digits. */
export function searchTerm(raw: string): string {
  const t = raw.trim().toLowerCase().replace(/^[#@]/, '').slice(0, 200);
  return /^\+?[\d\s().-]{7,}$/.test(t) ? t.replace(/\D/g, '') : t;
}

export function conversationKey(channelId: string, externalId: string): string {
  return `${channelId}:${externalId}`;
}

export const HELPDESK_TARGET = 'helpdesk';
export const channelTarget = (channelId: string) => `channel:${channelId}`;
