import type { Decision } from './schema.ts';

/** Topic tags in precedence order: a message tagged with two reports the earlier one. */
export const TOPICS = ['responsible_gaming', 'payments', 'kyc', 'bonus', 'bets'] as const;
export type Topic = (typeof TOPICS)[number] | 'other';

/**
 * The one topic a decision is counted under in reports and metrics: the first of `topics` (the
 * shipped iGaming ones unless `kpi.topics` names others) among its tags, else `other`.
 */
export function topicOf(decision: Decision): Topic;
export function topicOf(decision: Decision, topics: readonly string[]): string;
export function topicOf(decision: Decision, topics: readonly string[] = TOPICS): string {
  return topics.find((t) => decision.tags.includes(t)) ?? 'other';
}

/**
 * The topic a helpdesk ticket's tags say, by the config's `topics:` table (topic → tags, in
 * precedence order); `other` when no tag names one.
 */
export function topicOfTags(tags: readonly string[], table: Readonly<Record<string, readonly string[]>>): string {
  const have = new Set(tags.map((t) => t.toLowerCase()));
  for (const [topic, names] of Object.entries(table)) if (names.some((n) => have.has(n.toLowerCase()))) return topic;
  return 'other';
}
