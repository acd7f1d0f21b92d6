import { localClock, parseClock } from '../rules/time.ts';

/**
 * When a question may go out: not before `notBefore`, and not inside the quiet hours (local time
 * in `timezone`; `from` after `to` wraps past midnight). Returns `now` when it may go now.
 */
export function nextAllowed(now: Date, opts: { notBefore: number; quiet?: { from: string; to: string }; timezone: string }): number {
  let at = Math.max(now.getTime(), opts.notBefore);
  if (!opts.quiet) return at;
  const from = parseClock(opts.quiet.from);
  const to = parseClock(opts.quiet.to);
  if (from === undefined || to === undefined || from === to) return at;
  const { minutes } = localClock(new Date(at), opts.timezone);
  const quiet = from < to ? minutes >= from && minutes < to : minutes >= from || minutes < to;
  if (!quiet) return at;
  // To the start of the minute the quiet hours end in (the clock is read to the minute).
  const left = (to - minutes + 1440) % 1440;
  at = at - (at % 60_000) + left * 60_000;
  return at;
}
