import { z } from 'zod';
import type { KeyValueStore } from '../connector.ts';
import { readKvJson } from '../kv-json.ts';
import { Sender } from '../message.ts';

/**
 * What the rating flow remembers, in the runtime's key-value store (so every process of a Redis
 * deployment sees it, and a restart forgets nothing):
 * - per ticket: what the rules said about it (topic, group, tags, language), and that it was asked;
 * - per question: where it went and what came back;
 * - per conversation: the question waiting for a typed answer, if any.
 * Values are parsed with zod when read: a damaged record is treated as absent, never trusted.
 */

export const TicketFacts = z.object({
  channelId: z.string(),
  conversationKey: z.string(),
  topic: z.string(),
  group: z.string().optional(),
  tags: z.array(z.string()),
  language: z.enum(['ru', 'uz', 'en']),
});
export type TicketFacts = z.infer<typeof TicketFacts>;

export const Question = z.object({
  ticketId: z.string(),
  /** The conversation it is about (its channel is the one metrics count under). */
  conversationKey: z.string(),
  channelId: z.string(),
  /** The channel it was sent through (an email channel for a web form's customer), and to whom. */
  sentVia: z.string(),
  to: z.object({
    channelId: z.string(),
    externalId: z.string(),
    subject: z.string().optional(),
    threadRefs: z.array(z.string()).optional(),
    sender: Sender,
    meta: z.record(z.string(), z.unknown()).optional(),
  }),
  /** The conversation a typed answer comes from. */
  replyKey: z.string(),
  requesterId: z.string(),
  language: z.enum(['ru', 'uz', 'en']),
  topic: z.string(),
  group: z.string().optional(),
  askedAt: z.number(),
  score: z.number().int().min(1).max(5).optional(),
});
export type Question = z.infer<typeof Question>;

export const Open = z.object({
  questionId: z.string(),
  /** Waiting for the score, or (after a low one) for the answer to "what could we do better?". */
  phase: z.enum(['score', 'feedback']),
  until: z.number(),
});
export type Open = z.infer<typeof Open>;

/** Every record of the rating flow lives as long as the admin keeps ratings (`retention.ratings`). */
const RATINGS = { keep: 'ratings' } as const;

const keys = {
  facts: (ticketId: string) => `csat:ticket:${ticketId}`,
  asked: (ticketId: string) => `csat:asked:${ticketId}`,
  question: (id: string) => `csat:q:${id}`,
  open: (conversationKey: string) => `csat:open:${conversationKey}`,
};

export function csatRecords(kv: KeyValueStore) {
  return {
    facts: (ticketId: string) => readKvJson(kv, keys.facts(ticketId), TicketFacts),
    setFacts: (ticketId: string, facts: TicketFacts) => kv.set(keys.facts(ticketId), JSON.stringify(facts), RATINGS),
    /** The question a ticket was asked, if it was: a ticket is asked once, ever. */
    askedWith: (ticketId: string) => kv.get(keys.asked(ticketId)),
    markAsked: (ticketId: string, questionId: string) => kv.set(keys.asked(ticketId), questionId, RATINGS),
    question: (id: string) => readKvJson(kv, keys.question(id), Question),
    setQuestion: (id: string, q: Question) => kv.set(keys.question(id), JSON.stringify(q), RATINGS),
    open: (conversationKey: string) => readKvJson(kv, keys.open(conversationKey), Open),
    setOpen: (conversationKey: string, open: Open) => kv.set(keys.open(conversationKey), JSON.stringify(open), RATINGS),
    closeOpen: (conversationKey: string) => kv.delete(keys.open(conversationKey)),
  };
}
export type CsatRecords = ReturnType<typeof csatRecords>;
