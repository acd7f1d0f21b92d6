import { DateTime } from 'luxon';
import { calendarOf, type SlaSection } from '../core/kpi/config.ts';
import { formatDuration } from '../core/kpi/duration.ts';
import type { TimingStore } from '../core/kpi/record.ts';
import { ALL, buildReport, change, type Report, type ReportRow } from '../core/kpi/report.ts';

/** How `switchboard report` prints a report: two plain tables for people, or one CSV for spreadsheets. */

const dur = (ms: number | undefined) => (ms === undefined ? '-' : formatDuration(ms));

function share(r: ReportRow): string {
  const judged = r.withinSla + r.breachedSla;
  return judged === 0 ? '-' : `${Math.round((r.withinSla / judged) * 100)}% (${r.withinSla}/${judged})`;
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export function reportText(report: Report, zone: string): string {
  const at = (ms: number) => DateTime.fromMillis(ms, { zone }).toFormat('yyyy-LL-dd HH:mm');
  const span = formatDuration(report.to - report.from);
  const main = report.rows.filter((r) => !(r.channel === ALL && r.topic !== ALL));
  const topics = report.rows.filter((r) => r.channel === ALL && r.topic !== ALL);
  return [
    `Conversations opened ${at(report.from)} – ${at(report.to)} (${zone}); response times in business hours`,
    '',
    table(
      ['channel', 'topic', 'volume', 'answered', 'median first response', 'p90 first response', 'within SLA', 'median reply'],
      main.map((r) => [r.channel, r.topic, String(r.volume), String(r.answered), dur(r.medianFirstMs), dur(r.p90FirstMs), share(r), dur(r.medianReplyMs)]),
    ),
    '',
    `Contact reasons by volume, against the ${span} before`,
    '',
    table(['topic', 'volume', 'previous', 'change'], topics.map((r) => [r.topic, String(r.volume), String(r.previous), change(r.volume, r.previous)])),
  ].join('\n');
}

const CSV_HEADER = [
  'channel', 'topic', 'volume', 'previous_volume', 'change', 'answered',
  'median_first_response_seconds', 'p90_first_response_seconds', 'within_sla', 'breached_sla', 'median_reply_seconds',
];

/** A CSV cell: quoted when it holds a comma, quote or line break; never read as a formula by a spreadsheet. */
function cell(v: string): string {
  const safe = /^[=+\-@\t\r]/.test(v) && !/^[-+]?\d/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function reportCsv(report: Report): string {
  const secs = (ms: number | undefined) => (ms === undefined ? '' : String(Math.round(ms / 1000)));
  const lines = report.rows.map((r) => [
    r.channel, r.topic, String(r.volume), String(r.previous), change(r.volume, r.previous), String(r.answered),
    secs(r.medianFirstMs), secs(r.p90FirstMs), String(r.withinSla), String(r.breachedSla), secs(r.medianReplyMs),
  ].map(cell).join(','));
  return [CSV_HEADER.join(','), ...lines].join('\n');
}

/** The report for the `since` before `now`, read from the store, printed as text or CSV. */
export async function printableReport(
  store: TimingStore,
  cfg: { sla: SlaSection; timezone: string },
  opts: { sinceMs: number; csv?: boolean; now?: number },
): Promise<string> {
  const to = opts.now ?? Date.now();
  const from = to - opts.sinceMs;
  const calendar = calendarOf(cfg.sla, cfg.timezone);
  const [current, previous] = await Promise.all([store.openedBetween(from, to), store.openedBetween(from - opts.sinceMs, from)]);
  const report = buildReport({ current, previous, from, to, now: to, calendar });
  return opts.csv ? reportCsv(report) : reportText(report, calendar.zone);
}
