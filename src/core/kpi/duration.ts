/** Durations as admins write them (`90s`, `5m`, `2h`, `1h30m`, `7d`) and as people read them. */

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 } as const;
const DURATION = /^(?:(\d{1,5})d)?(?:(\d{1,5})h)?(?:(\d{1,5})m)?(?:(\d{1,5})s)?$/;

/** Milliseconds, or undefined for anything that is not a positive duration in d/h/m/s. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m || m[0] === '') return undefined;
  const [, d, h, min, s] = m;
  const ms = Number(d ?? 0) * UNIT_MS.d + Number(h ?? 0) * UNIT_MS.h + Number(min ?? 0) * UNIT_MS.m + Number(s ?? 0) * UNIT_MS.s;
  return ms > 0 ? ms : undefined;
}

/** `45s`, `5m`, `3m 05s`, `2h 07m`, `7d`, `3d 4h`: two units at most (a zero second one left out), rounded down to the second. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(total / 86_400);
  const h = Math.floor((total % 86_400) / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const two = (n: number, unit: string) => (n === 0 ? '' : ` ${String(n).padStart(unit === 'h' ? 1 : 2, '0')}${unit}`);
  if (d > 0) return `${d}d${two(h, 'h')}`;
  if (h > 0) return `${h}h${two(m, 'm')}`;
  if (m > 0) return `${m}m${two(s, 's')}`;
  return `${s}s`;
}
