import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, it } from 'vitest';
import { addBusinessMs, businessMs, isOpen, type BusinessCalendar } from '../../src/core/kpi/business-time.ts';
import { weekFromHours } from '../../src/core/kpi/config.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;

/** Monday to Friday 09:00–18:00 in the zone, with the listed holidays. */
function officeHours(zone: string, holidays: string[] = []): BusinessCalendar {
  return { zone, week: weekFromHours({ 'mon-fri': [9 * 60, 18 * 60] }), holidays: new Set(holidays) };
}

const at = (iso: string, zone: string) => DateTime.fromISO(iso, { zone }).toMillis();

describe('business time: what an SLA clock counts', () => {
  it('a message on Friday 17:55 answered Monday 09:03 waited 8 minutes of business time', () => {
    const cal = officeHours('Asia/Tashkent');
    expect(businessMs(cal, at('2025-05-02T17:55', cal.zone), at('2025-05-05T09:03', cal.zone))).toBe(8 * MIN);
  });

  it('the clock stands still on a holiday and outside hours; a message at night starts counting at opening', () => {
    const cal = officeHours('Europe/Moscow', ['2025-05-09']);
    // Thursday 18:30 → Friday (Victory Day, a holiday) → Monday 10:00: only Monday 09:00–10:00 counts.
    expect(businessMs(cal, at('2025-05-08T18:30', cal.zone), at('2025-05-12T10:00', cal.zone))).toBe(HOUR);
    expect(isOpen(cal, at('2025-05-09T12:00', cal.zone))).toBe(false);
    expect(isOpen(cal, at('2025-05-12T12:00', cal.zone))).toBe(true);
    // A 5-minute target for a message at 03:00 is due at 09:05.
    expect(addBusinessMs(cal, at('2025-05-12T03:00', cal.zone), 5 * MIN)).toBe(at('2025-05-12T09:05', cal.zone));
  });

  it('a working day is 9 hours on the days the clocks change (Berlin spring and autumn, New York)', () => {
    for (const [zone, day] of [['Europe/Berlin', '2025-03-30'], ['Europe/Berlin', '2025-10-26'], ['America/New_York', '2025-03-09']] as const) {
      const cal: BusinessCalendar = { zone, holidays: new Set() };
      const week = { zone, week: weekFromHours({ 'mon-sun': [9 * 60, 18 * 60] }), holidays: new Set<string>() };
      const start = at(`${day}T00:00`, zone);
      const end = DateTime.fromMillis(start, { zone }).plus({ days: 1 }).toMillis();
      expect(businessMs(week, start, end), `${zone} ${day}`).toBe(9 * HOUR);
      // Around the clock, a day is what the clock on the wall says it is.
      expect(businessMs(cal, start, end)).toBe(end - start);
    }
    // The day the clocks go forward has 23 hours, the day they go back 25; the next day starts at its own midnight.
    const berlin: BusinessCalendar = { zone: 'Europe/Berlin', holidays: new Set() };
    expect(businessMs(berlin, at('2025-03-30T00:00', berlin.zone), at('2025-03-31T12:00', berlin.zone))).toBe(35 * HOUR);
    expect(businessMs(berlin, at('2025-10-26T00:00', berlin.zone), at('2025-10-27T12:00', berlin.zone))).toBe(37 * HOUR);
  });

  it('several ranges a day, and a day named on its own overrides the range it is in', () => {
    const cal: BusinessCalendar = {
      zone: 'UTC',
      week: weekFromHours({ 'mon-fri': [[9 * 60, 13 * 60], [14 * 60, 18 * 60]], fri: [9 * 60, 16 * 60], sat: [] }),
      holidays: new Set(),
    };
    expect(businessMs(cal, at('2025-05-05T00:00', 'UTC'), at('2025-05-06T00:00', 'UTC'))).toBe(8 * HOUR); // Monday
    expect(businessMs(cal, at('2025-05-09T00:00', 'UTC'), at('2025-05-10T00:00', 'UTC'))).toBe(7 * HOUR); // Friday
    expect(businessMs(cal, at('2025-05-10T00:00', 'UTC'), at('2025-05-12T00:00', 'UTC'))).toBe(0); // the weekend
    expect(isOpen(cal, at('2025-05-05T13:30', 'UTC'))).toBe(false); // lunch
  });

  it('a calendar with no open time never comes due', () => {
    const closed: BusinessCalendar = { zone: 'UTC', week: {}, holidays: new Set() };
    expect(addBusinessMs(closed, 0, MIN)).toBe(Infinity);
    expect(businessMs(closed, 0, 30 * 24 * HOUR)).toBe(0);
  });

  describe('properties (fast-check)', () => {
    const zones = fc.constantFrom('UTC', 'Asia/Tashkent', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe', 'Asia/Kathmandu');
    const range = fc.tuple(fc.integer({ min: 0, max: 1439 }), fc.integer({ min: 1, max: 1440 })).filter(([a, b]) => a < b);
    const week = fc.dictionary(fc.constantFrom('mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun', 'mon-fri', 'sat-sun'), fc.array(range, { minLength: 1, maxLength: 3 }), { minKeys: 1 });
    // 2024–2026: leap day and every daylight-saving change in them.
    const instant = fc.integer({ min: Date.UTC(2024, 0, 1), max: Date.UTC(2026, 11, 31) });
    const holidays = fc.array(fc.date({ min: new Date(Date.UTC(2024, 0, 1)), max: new Date(Date.UTC(2026, 11, 31)), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)), { maxLength: 20 });
    const calendar = fc.record({
      zone: zones,
      week: fc.option(week.map((w) => weekFromHours(w)), { nil: undefined }),
      holidays: holidays.map((h) => new Set(h)),
    }).map((c): BusinessCalendar => (c.week ? c : { zone: c.zone, holidays: c.holidays }));
    const opts = { numRuns: 300 };

    it('never more than the wall clock, never negative; around the clock without holidays it is the wall clock', () => {
      fc.assert(fc.property(calendar, instant, fc.integer({ min: 0, max: 20 * 24 * HOUR }), (cal, from, span) => {
        const b = businessMs(cal, from, from + span);
        expect(b).toBeGreaterThanOrEqual(0);
        expect(b).toBeLessThanOrEqual(span);
        if (!cal.week && cal.holidays.size === 0) expect(b).toBe(span);
      }), opts);
    });

    it('adds up: the time from a to c is the time from a to b plus from b to c', () => {
      fc.assert(fc.property(calendar, instant, fc.integer({ min: 0, max: 10 * 24 * HOUR }), fc.integer({ min: 0, max: 10 * 24 * HOUR }), (cal, a, x, y) => {
        expect(businessMs(cal, a, a + x + y)).toBe(businessMs(cal, a, a + x) + businessMs(cal, a + x, a + x + y));
      }), opts);
    });

    it('the due time of a target is when exactly that much business time has passed, and the clock runs just before it', () => {
      fc.assert(fc.property(calendar, instant, fc.integer({ min: 1, max: 3 * 24 * HOUR }), (cal, from, target) => {
        const due = addBusinessMs(cal, from, target);
        if (due === Infinity) return;
        expect(due).toBeGreaterThanOrEqual(from + target);
        expect(businessMs(cal, from, due)).toBe(target);
        expect(businessMs(cal, from, due - 1)).toBe(target - 1);
      }), opts);
    });

    it('nothing counts on a holiday', () => {
      fc.assert(fc.property(calendar, instant, (cal, t) => {
        const day = DateTime.fromMillis(t, { zone: cal.zone }).startOf('day');
        const withHoliday = { ...cal, holidays: new Set([...cal.holidays, day.toISODate()!]) };
        expect(businessMs(withHoliday, day.toMillis(), day.plus({ days: 1 }).toMillis())).toBe(0);
      }), opts);
    });
  });
});
