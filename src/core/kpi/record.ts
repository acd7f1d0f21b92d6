import { z } from 'zod';
import { businessMs, type BusinessCalendar } from './business-time.ts';

/**
 * What the gateway remembers about one conversation's timing. A conversation here is one ticket's
 * life: the customer's messages on it and the agents' public replies; a follow-up ticket starts a
 * new one. Times are epoch milliseconds: a customer message counts from the channel's own time
 * (`occurredAt`), an agent reply from the helpdesk comment's time (or when the gateway saw it).
 */

/** Kept short: enough to tell a repeated message or reply from a new one, bounded so a long chat stays small. */
const RECENT_REPLIES = 20;
const MAX_UNANSWERED = 50;
const MAX_REPLY_SAMPLES = 50;
/** Helpdesks and channels stamp times in whole seconds: a reply in the same second answers the message. */
const SAME_SECOND_MS = 1000;

export const TimingRecord = z.object({
  ticketId: z.string(),
  ticketUrl: z.string().optional(),
  channel: z.string(),
  topic: z.string(),
  /** `none` when the rules set none. */
  priority: z.string(),
  /** The rules' symbolic group, `none` when they set none. */
  group: z.string(),
  /** The first customer message. */
  openedAt: z.number(),
  /** The wait each customer message may have, in business ms; absent: no target applies. */
  targetMs: z.number().optional(),
  /** Customer messages not answered yet, oldest first: the clock runs from the first. */
  unanswered: z.array(z.number()),
  firstResponse: z.object({ at: z.number(), calendarMs: z.number(), businessMs: z.number() }).optional(),
  /** Business ms of later waits, newest last (bounded). */
  replyBusinessMs: z.array(z.number()).default([]),
  /** Helpdesk comment ids already counted (the newest few). */
  replies: z.array(z.string()).default([]),
  /** Customer message ids already counted (the newest few): a retried delivery does not restart the clock. */
  messages: z.array(z.string()).default([]),
  /** The wait (its start) already warned about and already declared breached: once per breach. */
  warnedFor: z.number().optional(),
  breachedFor: z.number().optional(),
  breaches: z.number().default(0),
  /**
   * The helpdesk reported the ticket solved while messages waited: their wait ended then, without
   * a public reply, and the SLA clock stopped. A public reply still measures them (the helpdesk may
   * report the reply after the solve); the next customer message starts a new wait.
   */
  solvedAt: z.number().optional(),
  /** The first wait ended that way (solved before any public reply), at this time. */
  solvedFirstAt: z.number().optional(),
  /** Set while the SLA watch must look at it: the start of the wait. The stores index it. */
  watchFrom: z.number().optional(),
});
export type TimingRecord = z.infer<typeof TimingRecord>;

export interface Versioned {
  record: TimingRecord;
  /** Compare-and-set token: 1 for the first write. */
  version: number;
}

/**
 * Where timings live (the embedded file or Redis). `put` is a compare-and-set, so processes that
 * see a customer message and an agent reply of the same ticket at once never lose either.
 */
export interface TimingStore {
  get(ticketId: string): Promise<Versioned | undefined>;
  /** Writes if the stored version is still `version` (0: none stored yet); false when someone else wrote first. */
  put(record: TimingRecord, version: number): Promise<boolean>;
  /** Conversations opened in [from, to). */
  openedBetween(from: number, to: number): Promise<TimingRecord[]>;
  /** Conversations the SLA watch must look at (`watchFrom` set), longest waiting first. */
  watched(limit: number): Promise<Versioned[]>;
  /** Forgets conversations opened before `before`; returns how many. */
  prune(before: number): Promise<number>;
}

/** What the conversation is counted under, from the rules' decision for the message. */
export interface Labels {
  channel: string;
  topic: string;
  priority: string;
  group: string;
}

export interface CustomerMessage extends Labels {
  ticketId: string;
  /** The gateway's id of the message (or of the first of a batch). */
  messageId: string;
  ticketUrl?: string;
  at: number;
  targetMs?: number;
}

export interface AgentReplyEvent {
  commentId: string;
  at: number;
}

export interface ResponseSample {
  kind: 'first' | 'reply';
  calendarMs: number;
  businessMs: number;
  targetMs?: number;
}

const PRIORITY_RANK: Record<string, number> = { none: 0, low: 1, normal: 2, high: 3, urgent: 4 };

/** Where the SLA clock of the current wait started: undefined when nothing waits, or a solve ended the wait. */
export function waitingSince(r: TimingRecord): number | undefined {
  return r.solvedAt === undefined ? r.unanswered[0] : undefined;
}

/** The SLA watch looks at a conversation while a wait with a target has not been declared breached. */
function withWatch(r: TimingRecord): TimingRecord {
  const since = waitingSince(r);
  const watch = since !== undefined && r.targetMs !== undefined && r.breachedFor !== since;
  const { watchFrom: _old, ...rest } = r;
  return watch ? { ...rest, watchFrom: since } : rest;
}

/**
 * A customer message reached the ticket. Starts the clock unless it already runs; the topic and
 * group are the first the rules named, the priority the highest (helpdesks only raise it).
 */
export function onCustomerMessage(r: TimingRecord | undefined, m: CustomerMessage): TimingRecord {
  // Seen before (a retried delivery): the same record, unchanged.
  if (r?.messages.includes(m.messageId)) return r;
  if (!r) {
    return withWatch({
      ticketId: m.ticketId,
      ...(m.ticketUrl ? { ticketUrl: m.ticketUrl } : {}),
      channel: m.channel,
      topic: m.topic,
      priority: m.priority,
      group: m.group,
      openedAt: m.at,
      ...(m.targetMs !== undefined ? { targetMs: m.targetMs } : {}),
      unanswered: [m.at],
      replyBusinessMs: [],
      replies: [],
      messages: [m.messageId],
      breaches: 0,
    });
  }
  const raised = (PRIORITY_RANK[m.priority] ?? 0) > (PRIORITY_RANK[r.priority] ?? 0);
  // After a solve the customer writing again starts a new wait: the messages the solve ended are done.
  const before = r.solvedAt === undefined ? r.unanswered : [];
  let unanswered = [...new Set([...before, m.at])].sort((a, b) => a - b);
  // Keep the oldest (the clock's start) and the newest.
  if (unanswered.length > MAX_UNANSWERED) unanswered = [unanswered[0]!, ...unanswered.slice(-(MAX_UNANSWERED - 1))];
  const target = raised ? m.targetMs : r.targetMs;
  const { targetMs: _t, solvedAt: _s, ...rest } = r;
  return withWatch({
    ...rest,
    ...(target !== undefined ? { targetMs: target } : {}),
    ticketUrl: r.ticketUrl ?? m.ticketUrl,
    topic: r.topic === 'other' ? m.topic : r.topic,
    group: r.group === 'none' ? m.group : r.group,
    priority: raised ? m.priority : r.priority,
    openedAt: Math.min(r.openedAt, m.at),
    unanswered,
    messages: [...r.messages, m.messageId].slice(-RECENT_REPLIES),
  });
}

/**
 * An agent's public reply. It answers every waiting message up to its time; the sample is the
 * wait of the oldest of them. Undefined when it changes nothing (seen before, or nothing waited).
 */
export function onAgentReply(
  r: TimingRecord,
  reply: AgentReplyEvent,
  calendar: BusinessCalendar,
): { record: TimingRecord; sample?: ResponseSample } | undefined {
  if (r.replies.includes(reply.commentId)) return undefined;
  const replies = [...r.replies, reply.commentId].slice(-RECENT_REPLIES);
  const answered = r.unanswered.filter((t) => t <= reply.at + SAME_SECOND_MS);
  const since = answered[0];
  if (since === undefined) return { record: withWatch({ ...r, replies }) };
  // The first response answers the first wait, also when a solve ended it just before this reply was seen.
  const first = !r.firstResponse && (r.solvedFirstAt === undefined || r.solvedFirstAt === r.solvedAt);
  const sample: ResponseSample = {
    kind: first ? 'first' : 'reply',
    calendarMs: Math.max(0, reply.at - since),
    businessMs: businessMs(calendar, since, reply.at),
    ...(r.targetMs !== undefined ? { targetMs: r.targetMs } : {}),
  };
  const unanswered = r.unanswered.filter((t) => t > reply.at + SAME_SECOND_MS);
  const { solvedAt: _s, ...rest } = r;
  const record: TimingRecord = {
    // Nothing left that the solve ended: forget it.
    ...(unanswered.length > 0 ? r : rest),
    replies,
    unanswered,
    ...(sample.kind === 'first'
      ? { firstResponse: { at: reply.at, calendarMs: sample.calendarMs, businessMs: sample.businessMs } }
      : { replyBusinessMs: [...r.replyBusinessMs, sample.businessMs].slice(-MAX_REPLY_SAMPLES) }),
  };
  return { record: withWatch(record), sample };
}

/**
 * The helpdesk reported the ticket solved: the waiting messages' wait ends here, without a reply,
 * so the SLA watch stops looking. Undefined when it changes nothing (nothing waits, or a solve
 * already ended this wait: a repeated event keeps the first time).
 */
export function onSolved(r: TimingRecord, at: number): TimingRecord | undefined {
  if (r.unanswered.length === 0 || r.solvedAt !== undefined) return undefined;
  const firstWait = !r.firstResponse && r.solvedFirstAt === undefined;
  return withWatch({ ...r, solvedAt: at, ...(firstWait ? { solvedFirstAt: at } : {}) });
}

/** The SLA watch raised the stage for the current wait. */
export function onSlaStage(r: TimingRecord, stage: 'warning' | 'breach', since: number): TimingRecord {
  if (stage === 'warning') return withWatch({ ...r, warnedFor: since });
  return withWatch({ ...r, breachedFor: since, breaches: r.breaches + 1 });
}
