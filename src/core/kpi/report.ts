import { businessMs, type BusinessCalendar } from './business-time.ts';
import type { TimingRecord } from './record.ts';

/**
 * `switchboard report`: conversations opened in a period, by channel and topic, with their first
 * response times and how many met their SLA target, next to the period before it of the same
 * length (which contact reasons are growing). Times are business time, the clock the SLA uses.
 */

export const ALL = 'all';

export interface ReportRow {
  channel: string;
  topic: string;
  /** Conversations opened in the period. */
  volume: number;
  /** Conversations opened in the period before, of the same length. */
  previous: number;
  /** Those with a first agent reply. */
  answered: number;
  medianFirstMs?: number;
  p90FirstMs?: number;
  /** First response within the target / past it (answered late, or still waiting past it). */
  withinSla: number;
  breachedSla: number;
  /** Median of the later replies' waits. */
  medianReplyMs?: number;
}

export interface Report {
  from: number;
  to: number;
  /** Every channel × topic seen, then each channel over all topics, each topic over all channels, and everything. */
  rows: ReportRow[];
}

/** The nearest-rank percentile (0 < p ≤ 1) of unsorted values. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

/**
 * Whether the first response met its target: true, false, or undefined (no target, still within
 * it, or solved without a reply before it was reached: that wait ended there).
 */
export function metTarget(r: TimingRecord, now: number, calendar: BusinessCalendar): boolean | undefined {
  if (r.targetMs === undefined) return undefined;
  if (r.firstResponse) return r.firstResponse.businessMs <= r.targetMs;
  return businessMs(calendar, r.openedAt, r.solvedFirstAt ?? now) > r.targetMs ? false : undefined;
}

export function buildReport(opts: {
  current: readonly TimingRecord[];
  previous: readonly TimingRecord[];
  from: number;
  to: number;
  now: number;
  calendar: BusinessCalendar;
}): Report {
  const groups = new Map<string, { channel: string; topic: string; current: TimingRecord[]; previous: number }>();
  const keysOf = (r: TimingRecord) => [[r.channel, r.topic], [r.channel, ALL], [ALL, r.topic], [ALL, ALL]] as const;
  const group = (channel: string, topic: string) => {
    const key = `${channel}\u0000${topic}`;
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { channel, topic, current: [], previous: 0 }));
    return g;
  };
  group(ALL, ALL);
  for (const r of opts.current) for (const [c, t] of keysOf(r)) group(c, t).current.push(r);
  for (const r of opts.previous) for (const [c, t] of keysOf(r)) group(c, t).previous++;

  const rows = [...groups.values()].map(({ channel, topic, current, previous }): ReportRow => {
    const first = current.flatMap((r) => (r.firstResponse ? [r.firstResponse.businessMs] : []));
    const met = current.map((r) => metTarget(r, opts.now, opts.calendar));
    const replies = current.flatMap((r) => r.replyBusinessMs);
    const median = percentile(first, 0.5);
    const p90 = percentile(first, 0.9);
    const medianReply = percentile(replies, 0.5);
    return {
      channel,
      topic,
      volume: current.length,
      previous,
      answered: first.length,
      ...(median !== undefined ? { medianFirstMs: median } : {}),
      ...(p90 !== undefined ? { p90FirstMs: p90 } : {}),
      withinSla: met.filter((m) => m === true).length,
      breachedSla: met.filter((m) => m === false).length,
      ...(medianReply !== undefined ? { medianReplyMs: medianReply } : {}),
    };
  });
  // Specific rows first (channel, then topic by volume), then per channel, per topic, and the total.
  const rank = (r: ReportRow) => (r.channel === ALL ? 2 : 0) + (r.topic === ALL ? 1 : 0);
  rows.sort((a, b) => rank(a) - rank(b) || a.channel.localeCompare(b.channel) || b.volume - a.volume || a.topic.localeCompare(b.topic));
  return { from: opts.from, to: opts.to, rows };
}

/** Change against the previous period: `+50%`, `-20%`, `new`, or `=`. */
export function change(volume: number, previous: number): string {
  if (previous === 0) return volume === 0 ? '=' : 'new';
  const pct = Math.round(((volume - previous) / previous) * 100);
  return pct === 0 ? '=' : `${pct > 0 ? '+' : ''}${pct}%`;
}
