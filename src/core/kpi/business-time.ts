import { DateTime } from 'luxon';

/**
 * Business time in an IANA zone, as helpdesks count it for SLAs: the clock runs only inside the
 * weekly opening hours and stops on listed holidays. Local dates and times are turned into
 * instants by luxon (Intl underneath, so no time zone database ships with us), which keeps
 * daylight-saving days right: a 09:00–18:00 day is 9 hours whatever the offset does.
 */

/** [from, to) in minutes since local midnight; `to` may be 1440 (end of day). */
export type OpenRange = readonly [number, number];

export interface BusinessCalendar {
  zone: string;
  /** Opening ranges per ISO weekday (1 = Monday … 7 = Sunday); absent: open around the clock. */
  week?: Readonly<Record<number, readonly OpenRange[]>>;
  /** Local dates (`YYYY-MM-DD`) the clock stands still all day. */
  holidays: ReadonlySet<string>;
}

const ALL_DAY: readonly OpenRange[] = [[0, 1440]];
/** A calendar with no open time at all would make the search for a due time run forever. */
const MAX_DAYS = 3 * 366;

export const ROUND_THE_CLOCK: BusinessCalendar = { zone: 'UTC', holidays: new Set() };

/** The open intervals of one local day, as instants. */
function openIntervals(cal: BusinessCalendar, day: DateTime): [number, number][] {
  if (cal.holidays.has(day.toISODate() ?? '')) return [];
  const ranges = cal.week ? (cal.week[day.weekday] ?? []) : ALL_DAY;
  const next = day.plus({ days: 1 }).startOf('day');
  const at = (minutes: number): number =>
    minutes >= 1440 ? next.toMillis() : day.set({ hour: Math.floor(minutes / 60), minute: minutes % 60 }).toMillis();
  return ranges.map(([from, to]) => [at(from), at(to)]);
}

function startOfLocalDay(cal: BusinessCalendar, at: number): DateTime {
  return DateTime.fromMillis(at, { zone: cal.zone }).startOf('day');
}

/** Business milliseconds between two instants (0 when `to` is not after `from`). */
export function businessMs(cal: BusinessCalendar, from: number, to: number): number {
  if (!(to > from)) return 0;
  let total = 0;
  for (let day = startOfLocalDay(cal, from); day.toMillis() < to; day = day.plus({ days: 1 }).startOf('day')) {
    for (const [open, close] of openIntervals(cal, day)) {
      total += Math.max(0, Math.min(close, to) - Math.max(open, from));
    }
  }
  return total;
}

/**
 * The instant at which `ms` business milliseconds will have passed since `from` (the due time of
 * a target); Infinity when the calendar has no open time within three years.
 */
export function addBusinessMs(cal: BusinessCalendar, from: number, ms: number): number {
  let left = ms;
  let day = startOfLocalDay(cal, from);
  for (let i = 0; i < MAX_DAYS; i++, day = day.plus({ days: 1 }).startOf('day')) {
    for (const [open, close] of openIntervals(cal, day)) {
      const start = Math.max(open, from);
      if (close <= start) continue;
      if (left <= close - start) return start + left;
      left -= close - start;
    }
  }
  return Infinity;
}

/** Whether the business clock runs at `at`. */
export function isOpen(cal: BusinessCalendar, at: number): boolean {
  return openIntervals(cal, startOfLocalDay(cal, at)).some(([open, close]) => at >= open && at < close);
}
