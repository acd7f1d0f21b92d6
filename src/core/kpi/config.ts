import { z } from 'zod';
import { Priority } from '../rules/schema.ts';
import { TOPICS } from '../rules/topic.ts';
import { isValidTimeZone, parseClock } from '../rules/time.ts';
import type { BusinessCalendar, OpenRange } from './business-time.ts';
import { parseDuration } from './duration.ts';

/** The `kpi:` and `sla:` sections of switchboard.yaml: what is measured, and what is promised. */

/** The pattern is for editors (the JSON Schema); parseDuration decides. */
const Duration = (example: string) => {
  const message = `a duration like ${example} (units d, h, m, s, e.g. 90s, 5m, 2h, 1h30m)`;
  return z.string().regex(/^\s*(\d+d)?(\d+h)?(\d+m)?(\d+s)?\s*$/, message).transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message });
      return z.NEVER;
    }
    return ms;
  });
};

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const DAY_KEY = new RegExp(`^(${DAYS.join('|')})(?:-(${DAYS.join('|')}))?$`);
const RANGE = /^(\d{2}:\d{2})-(\d{2}:\d{2})$/;

const OpenHours = z.string().regex(/^\s*\d{2}:\d{2}-\d{2}:\d{2}\s*$/, 'opening hours like 09:00-18:00 (24:00 may end a day)').transform((text, ctx): OpenRange => {
  const m = RANGE.exec(text.trim());
  const from = m ? parseClock(m[1]!) : undefined;
  const to = m ? parseClock(m[2]!) : undefined;
  if (from === undefined || to === undefined || from >= to) {
    ctx.addIssue({
      code: 'custom',
      message: from !== undefined && to !== undefined && from >= to
        ? 'the range ends before it starts; a night shift is two ranges, e.g. 22:00-24:00 on one day and 00:00-06:00 on the next'
        : 'opening hours like 09:00-18:00 (24:00 may end a day)',
    });
    return z.NEVER;
  }
  return [from, to];
});

export const KpiSection = z.strictObject({
  topics: z.array(z.string().min(1)).min(1).default([...TOPICS])
    .describe('tags that name a contact reason, in precedence order: a conversation counts under the first one its tags include, else "other"'),
  keepDays: z.number().int().min(1).max(3660).default(190)
    .describe('how long per-conversation timings are kept for `switchboard report` (a 90-day report compares with the 90 days before)'),
}).describe('what the gateway measures per conversation (first response, reply times, contact reasons)');

export const SlaSection = z.strictObject({
  timezone: z.string().refine(isValidTimeZone, 'unknown IANA time zone (e.g. Europe/Moscow, Asia/Tashkent, UTC)').optional()
    .describe('IANA zone of the opening hours and holidays; defaults to the top-level `timezone`'),
  hours: z.record(z.string().regex(DAY_KEY, 'is not a weekday (mon … sun) or a range of them (mon-fri)'), z.union([OpenHours, z.array(OpenHours)]))
    .refine((hours) => Object.values(weekFromHours(hours)).some((day) => day.length > 0), 'these opening hours leave no open time in the week')
    .optional()
    .describe('weekly opening hours, e.g. { mon-fri: "09:00-18:00", sat: ["10:00-14:00"] }; a day named alone overrides a range; omitted: around the clock'),
  holidays: z.array(z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'a date like 2025-01-01')).default([])
    .describe('local dates on which the SLA clock stands still all day'),
  targets: z.strictObject({
    channels: z.record(z.string(), Duration('5m')).default({}).describe('channel id → the longest a customer may wait for an agent, e.g. { telegram: 5m, email: 2h }'),
    priorities: z.strictObject(Object.fromEntries(Priority.options.map((p) => [p, Duration('2m').optional()])) as Record<Priority, z.ZodOptional<ReturnType<typeof Duration>>>)
      .prefault({}).describe('priority → target, e.g. { urgent: 2m }; with a channel target too, the stricter one counts'),
    default: Duration('1h').optional().describe('target for conversations no channel or priority target covers; omitted: those have no target'),
  }).prefault({}).describe('how long a customer may wait for an agent reply, in business time'),
  warnAt: z.number().gt(0).lt(1).optional()
    .describe('share of the target after which a warning notice goes out, e.g. 0.8; omitted: no warning'),
  tag: z.string().regex(/^[a-z0-9_:-]+$/, 'lowercase letters, digits, "_", ":" or "-"').default('sla_breached')
    .describe('tag added to the ticket when it waits past its target'),
  notify: z.array(z.string().min(1)).default([]).describe('notifier targets told of warnings and breaches, e.g. [slack:support-leads]'),
  checkEvery: Duration('30s').default(30_000).describe('how often waiting conversations are checked against their targets'),
}).describe('service-level targets per channel and priority, business hours, and the watch that tags and announces breaches');

export type KpiSection = z.output<typeof KpiSection>;
export type SlaSection = z.output<typeof SlaSection>;

const ISO_DAY: Record<(typeof DAYS)[number], number> = { mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6, sun: 7 };

/** Ranges of one day sorted and merged, so no minute is counted twice. */
function merged(ranges: readonly OpenRange[]): OpenRange[] {
  const out: [number, number][] = [];
  for (const [from, to] of [...ranges].sort((a, b) => a[0] - b[0])) {
    const last = out.at(-1);
    if (last && from <= last[1]) last[1] = Math.max(last[1], to);
    else out.push([from, to]);
  }
  return out;
}

/** The weekly calendar the `hours` map describes: ranges of days first, then single days over them. */
export function weekFromHours(hours: Record<string, OpenRange | OpenRange[]>): Record<number, OpenRange[]> {
  const week: Record<number, OpenRange[]> = {};
  const entries = Object.entries(hours).map(([key, value]) => ({
    m: DAY_KEY.exec(key)!,
    // One range is a pair of numbers; a list of ranges (possibly empty: closed) is a list of pairs.
    ranges: (value.length === 0 || Array.isArray(value[0]) ? value : [value]) as OpenRange[],
  }));
  for (const single of [false, true]) {
    for (const { m, ranges } of entries) {
      if ((m[2] === undefined) !== single) continue;
      const first = ISO_DAY[m[1] as keyof typeof ISO_DAY];
      const last = ISO_DAY[(m[2] ?? m[1]) as keyof typeof ISO_DAY];
      // mon-fri, and wrapping ranges such as fri-mon.
      for (let d = first, n = 0; n < 7; d = (d % 7) + 1, n++) {
        week[d] = merged(ranges);
        if (d === last) break;
      }
    }
  }
  return week;
}

export function calendarOf(sla: SlaSection, timezone: string): BusinessCalendar {
  return {
    zone: sla.timezone ?? timezone,
    ...(sla.hours ? { week: weekFromHours(sla.hours) } : {}),
    holidays: new Set(sla.holidays),
  };
}

/** The target a conversation's wait is held to: the stricter of its channel's and its priority's, else the default. */
export function targetFor(sla: SlaSection, channel: string, priority: string | undefined): number | undefined {
  const candidates = [sla.targets.channels[channel], priority ? sla.targets.priorities[priority as Priority] : undefined]
    .filter((t): t is number => t !== undefined);
  return candidates.length > 0 ? Math.min(...candidates) : sla.targets.default;
}
