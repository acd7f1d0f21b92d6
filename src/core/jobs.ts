import { z } from 'zod';
import { NormalizedMessage } from './message.ts';
import type { Conversation } from './connector.ts';

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

export const JobPayload = z.discriminatedUnion('kind', [
  /** A customer message on its way to the helpdesk. */
  z.object({ kind: z.literal('inbound'), message: NormalizedMessage }),
  /** Look for new public agent comments on a ticket. */
  z.object({ kind: z.literal('sync'), ticketId: z.string() }),
  /** An agent's comment on its way to the customer's channel. */
  z.object({ kind: z.literal('reply'), reply: AgentReplyPayload }),
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
}

export interface LinkStore {
  get(conversationKey: string): Promise<Link | undefined>;
  /** Finds the conversation for a ticket, including tickets it was linked to before. */
  byTicket(ticketId: string): Promise<Link | undefined>;
  put(link: Link): Promise<void>;
}

export function conversationKey(channelId: string, externalId: string): string {
  return `${channelId}:${externalId}`;
}

export const HELPDESK_TARGET = 'helpdesk';
export const channelTarget = (channelId: string) => `channel:${channelId}`;
