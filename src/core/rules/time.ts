/** Time windows in an IANA zone, evaluated with Intl so no tz database ships with us. */

export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';
const WEEKDAYS: readonly Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

export interface Window {
  days?: readonly Weekday[];
  /** Minutes since local midnight. */
  from: number;
  to: number;
  timezone?: string;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timezone: string): Intl.DateTimeFormat {
  let f = formatters.get(timezone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23',
    });
    formatters.set(timezone, f);
  }
  return f;
}

export function isValidTimeZone(timezone: string): boolean {
  try {
    formatter(timezone);
    return true;
  } catch {
    return false;
  }
}

/** 'HH:MM' → minutes; undefined when out of range. `24:00` is allowed as an end of day. */
export function parseClock(s: string): number | undefined {
  const m = /^(\d{2}):(\d{2})$/u.exec(s);
  if (!m) return undefined;
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (min > 59 || h > 24 || (h === 24 && min > 0)) return undefined;
  return h * 60 + min;
}

export function localClock(now: Date, timezone: string): { day: Weekday; minutes: number } {
  const parts = formatter(timezone).formatToParts(now);
  const get = (type: string): string => parts.find((p) => p.type === type)?.value ?? '';
  const day = WEEKDAYS.find((d) => d === get('weekday').slice(0, 3).toLowerCase()) ?? 'mon';
  return { day, minutes: Number(get('hour')) * 60 + Number(get('minute')) };
}

function previousDay(day: Weekday): Weekday {
  return WEEKDAYS[(WEEKDAYS.indexOf(day) + 6) % 7] ?? day;
}

/**
 * Whether `now` falls in the window. A window whose `from` is after its `to` wraps past
 * midnight; `days` name the day the window opens on (Fri 22:00–02:00 covers Sat 01:00).
 */
export function inWindow(w: Window, now: Date, timezone: string): boolean {
  const { day, minutes } = localClock(now, w.timezone ?? timezone);
  let openedOn: Weekday;
  if (w.from === w.to) openedOn = day;
  else if (w.from < w.to) {
    if (minutes < w.from || minutes >= w.to) return false;
    openedOn = day;
  } else if (minutes >= w.from) openedOn = day;
  else if (minutes < w.to) openedOn = previousDay(day);
  else return false;
  return !w.days || w.days.includes(openedOn);
}
