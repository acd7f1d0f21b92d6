import type { HistoryReader } from '../connector.ts';
import { scorePairs, type Evaluation } from '../model/train.ts';
import { topicOfTags } from '../rules/topic.ts';
import type { RoutedRecord, RoutingLog } from './routing-log.ts';

/**
 * Production accuracy: the topic the gateway gave each ticket it created, against the topic the
 * ticket's tags say now (agents' corrections are the ground truth), both through the config's
 * `topics:` table.
 */

export interface RoutingMiss {
  ticketId: string;
  expected: string;
  predicted: string;
  /** The customer's words, personal data masked (as kept). */
  text: string;
  rules: string[];
}

export interface RoutingEvaluation extends Evaluation {
  /** Tickets the gateway created in the window. */
  routed: number;
  /** Of them, found in the helpdesk (the rest were deleted or merged away). */
  found: number;
  misses: RoutingMiss[];
}

export async function evaluateRouting(opts: {
  log: RoutingLog;
  reader: HistoryReader;
  topics: Readonly<Record<string, readonly string[]>>;
  since: Date;
  onProgress?(count: number): void;
}): Promise<RoutingEvaluation> {
  const routed = new Map<string, RoutedRecord>();
  let oldest = Date.now();
  for await (const r of opts.log.newest({ since: opts.since.getTime() })) {
    if (!r.created || routed.has(r.ticketId)) continue;
    routed.set(r.ticketId, r);
    oldest = Math.min(oldest, r.at);
  }
  const pairs: { expected: string; predicted: string }[] = [];
  const misses: RoutingMiss[] = [];
  if (routed.size > 0) {
    // Tickets created since the oldest routed one were updated since then too: the list has them.
    const since = new Date(oldest - 60_000);
    const seen = new Set<string>();
    for await (const t of opts.reader.tickets({ since, want: (id) => routed.has(id), onProgress: opts.onProgress })) {
      const r = routed.get(t.id);
      if (!r || seen.has(t.id)) continue;
      seen.add(t.id);
      const expected = topicOfTags(t.tags, opts.topics);
      const predicted = topicOfTags(r.decision.tags, opts.topics);
      pairs.push({ expected, predicted });
      if (expected !== predicted) misses.push({ ticketId: t.id, expected, predicted, text: r.message.text, rules: r.decision.firedRules });
    }
  }
  return { ...scorePairs(pairs), routed: routed.size, found: pairs.length, misses };
}
