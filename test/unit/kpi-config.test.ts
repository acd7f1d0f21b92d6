import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config/load.ts';
import { calendarOf, targetFor } from '../../src/core/kpi/config.ts';
import { formatDuration, parseDuration } from '../../src/core/kpi/duration.ts';
import { lineOf, writeTree } from '../fixtures/config/files.ts';
import { fakeRegistry } from '../fixtures/config/registry.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

const BASE = `helpdesk: { kind: jsonl }
timezone: Asia/Tashkent
channels:
  telegram: { kind: telegram, token: "123456:ABC", mode: polling }
`;

async function load(text: string) {
  const tree = await writeTree({ 'config.yaml': text });
  cleanups.push(tree.cleanup);
  return loadConfig(path.join(tree.dir, 'config.yaml'), fakeRegistry, {});
}

async function loadError(text: string): Promise<ConfigError> {
  try {
    await load(text);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('durations', () => {
  it('reads what admins write and prints what people read', () => {
    expect(['90s', '5m', '2h', '1h30m', '7d', ' 2h ', '1d12h'].map(parseDuration)).toEqual([90_000, 300_000, 7_200_000, 5_400_000, 604_800_000, 7_200_000, 129_600_000]);
    for (const bad of ['', '5', '5 m', '-5m', '0m', 'm', '5min', '1.5h', '5m2h']) expect(parseDuration(bad), bad).toBeUndefined();
    expect([0, 45_000, 185_000, 300_000, 7_200_000, 7_620_000, 277_200_000, 604_800_000].map(formatDuration)).toEqual(['0s', '45s', '3m 05s', '5m', '2h', '2h 07m', '3d 5h', '7d']);
  });
});

describe('the kpi and sla sections', () => {
  it('targets per channel and priority: the stricter counts; hours and holidays in the SLA zone', async () => {
    const { config } = await load(`${BASE}
sla:
  timezone: Europe/Moscow
  hours: { mon-fri: "09:00-18:00", sat: ["10:00-12:00", "13:00-15:00"] }
  holidays: ["2025-01-01"]
  targets:
    channels: { telegram: 5m }
    priorities: { urgent: 2m, low: 1h }
    default: 4h
  warnAt: 0.8
  notify: []
kpi:
  topics: [refund, delivery]
`);
    expect(targetFor(config.sla, 'telegram', 'urgent')).toBe(120_000);
    expect(targetFor(config.sla, 'telegram', 'low')).toBe(300_000);
    expect(targetFor(config.sla, 'telegram', undefined)).toBe(300_000);
    expect(targetFor(config.sla, 'email', undefined)).toBe(14_400_000);
    expect(targetFor(config.sla, 'email', 'urgent')).toBe(120_000);
    const cal = calendarOf(config.sla, config.timezone);
    expect(cal.zone).toBe('Europe/Moscow');
    expect(cal.week?.[6]).toEqual([[600, 720], [780, 900]]);
    expect(cal.week?.[7]).toBeUndefined();
    expect(cal.holidays.has('2025-01-01')).toBe(true);
    expect(config.kpi).toEqual({ topics: ['refund', 'delivery'], keepDays: 190 });
  });

  it('defaults: around the clock in the top-level zone, no targets, tag sla_breached, the shipped topics', async () => {
    const { config } = await load(BASE);
    expect(config.sla).toMatchObject({ tag: 'sla_breached', checkEvery: 30_000, holidays: [], notify: [] });
    expect(targetFor(config.sla, 'telegram', 'urgent')).toBeUndefined();
    expect(calendarOf(config.sla, config.timezone)).toMatchObject({ zone: 'Asia/Tashkent' });
    expect(calendarOf(config.sla, config.timezone).week).toBeUndefined();
    expect(config.kpi.topics).toContain('responsible_gaming');
  });

  it('mistakes are named at their file:line: a duration, hours, a night shift, an unknown channel or notifier, a zone', async () => {
    const text = `${BASE}
notifiers:
  slack: { kind: slack, webhookUrl: "https://hooks.example.com/x" }
sla:
  timezone: Europe/Moskow
  hours:
    mon-fri: "9-18"
    sat: "22:00-02:00"
    funday: "10:00-12:00"
  holidays: [01.01.2025]
  targets:
    channels: { telegram: 5 minutes, telgram: 5m }
    priorities: { critical: 1m }
  warnAt: 80
  notify: [slak:leads]
`;
    const err = await loadError(text);
    const at = (p: string) => err.issues.find((i) => i.path === p);
    expect(at('sla.timezone')?.message).toMatch(/unknown IANA time zone/);
    expect(at('sla.hours.mon-fri')).toMatchObject({ line: lineOf(text, 'mon-fri'), message: expect.stringMatching(/opening hours like 09:00-18:00/) });
    expect(at('sla.hours.sat')?.message).toMatch(/night shift is two ranges/);
    expect(at('sla.hours.funday')?.message).toBe("key 'funday' is not a weekday (mon … sun) or a range of them (mon-fri)");
    expect(at('sla.holidays[0]')?.message).toMatch(/a date like 2025-01-01/);
    expect(at('sla.targets.channels.telegram')).toMatchObject({ line: lineOf(text, 'telegram: 5 minutes'), message: expect.stringMatching(/a duration like 5m/) });
    expect(at('sla.targets.channels.telgram')?.message).toMatch(/no channel 'telgram' is configured.*telegram/);
    expect(at('sla.targets.priorities.critical')?.message).toMatch(/unknown key 'critical'.*urgent/);
    expect(at('sla.warnAt')?.message).toBe('must be less than 1');
    expect(err.issues).toHaveLength(10);
    expect(at('sla.notify[0]')?.message).toMatch(/no notifier 'slak' in notifiers; did you mean 'slack'\?/);
  });

  it('hours that leave no open time are refused (nothing would ever be late)', async () => {
    const err = await loadError(`${BASE}
sla:
  hours: { mon-sun: [] }
`);
    expect(err.issues.find((i) => i.path === 'sla.hours')?.message).toMatch(/no open time/);
  });
});
