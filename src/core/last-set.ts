import type { Decision, Priority } from './rules/schema.ts';

/**
 * What the gateway last set on a ticket: remembered with the conversation's link (and with the
 * customer's ticket, for a conversation that joins it), so a follow-up reads the ticket only
 * when it may have to go beyond this. Agents may change a ticket after the gateway wrote it;
 * what they set is left alone unless a new decision asks for more.
 */
export interface LastSet {
  /** The priority the ticket had at least, as the gateway last set or found it. */
  priority?: Priority;
  /** Tags the gateway has put on the ticket. */
  tags: string[];
}

const RANK: Record<Priority, number> = { low: 0, normal: 1, high: 2, urgent: 3 };

const higher = (a: Priority | undefined, b: Priority | undefined): Priority | undefined =>
  a === undefined ? b : b === undefined ? a : RANK[b] > RANK[a] ? b : a;

/** The decision may raise the priority above what the gateway last set: the ticket must be read first (an agent may have set it higher). */
export function mayRaisePriority(wanted: Priority | undefined, last: LastSet | undefined): boolean {
  if (wanted === undefined) return false;
  return last?.priority === undefined || RANK[wanted] > RANK[last.priority];
}

/** The decision's tags the gateway has not put on the ticket yet, compared as the helpdesk keeps tags (`keep`), without case. */
export function tagsBeyond(tags: string[], last: LastSet | undefined, keep: (tags: string[]) => string[] = (t) => t): string[] {
  const had = new Set(keep(last?.tags ?? []).map((t) => t.toLowerCase()));
  return keep(tags).filter((t) => !had.has(t.toLowerCase()));
}

/** What the ticket carries after a write of `decision` (a write never lowers a priority nor removes a tag). */
export function afterWrite(last: LastSet | undefined, decision: Pick<Decision, 'priority' | 'tags'>): LastSet {
  const priority = higher(last?.priority, decision.priority);
  return { ...(priority ? { priority } : {}), tags: [...new Set([...(last?.tags ?? []), ...decision.tags])] };
}
