import type { Decision } from './schema.ts';

/** Topic tags in precedence order: a message tagged with two reports the earlier one. */
export const TOPICS = ['responsible_gaming', 'payments', 'kyc', 'bonus', 'bets'] as const;
export type Topic = (typeof TOPICS)[number] | 'other';

/** The one topic a decision is counted under in reports and metrics. */
export function topicOf(decision: Decision): Topic {
  return TOPICS.find((t) => decision.tags.includes(t)) ?? 'other';
}
