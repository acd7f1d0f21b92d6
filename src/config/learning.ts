import { z } from 'zod';

/**
 * Config sections of the learned routing signal: the text model file, the table that says which
 * helpdesk tags mean which topic (for training from history and for `rules eval`), and how many
 * routed messages the gateway keeps for `rules diff` and `rules eval`.
 */

const UNITS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "30d", "6h", "90m", "45s" → milliseconds; undefined for anything else. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d{1,6})\s*([smhd])$/.exec(text.trim());
  return m ? Number(m[1]) * UNITS[m[2]!]! : undefined;
}

export const Duration = z.string().transform((s, ctx) => {
  const ms = parseDuration(s);
  if (ms === undefined || ms === 0) {
    ctx.addIssue({ code: 'custom', message: 'a duration like 30d, 6h, 90m or 45s' });
    return z.NEVER;
  }
  return ms;
});

export const ModelSection = z.strictObject({
  path: z.string().min(1).describe('the model file written by `switchboard model train`, relative to this config file; reloaded when it changes'),
}).describe('the learned text model that `model:` rule conditions ask');

/** Topic → the helpdesk tags that mean it, in precedence order (a ticket with tags of two topics counts under the first). */
export const TopicsSection = z.record(z.string().regex(/^[a-z][a-z0-9_]*$/, 'a topic name: lowercase letters, digits, _'), z.array(z.string().min(1)).min(1))
  .describe('topic → helpdesk tags that mean it (training from the helpdesk, rules eval); tickets with none of them count as `other`');

export const DEFAULT_TOPICS: Readonly<Record<string, string[]>> = {
  responsible_gaming: ['responsible_gaming'],
  payments: ['payments'],
  kyc: ['kyc'],
  bonus: ['bonus'],
  bets: ['bets'],
};

export const HistorySection = z.strictObject({
  keep: z.number().int().min(0).max(100_000).default(5000)
    .describe('routed messages kept (personal data masked) for `rules diff` and `rules eval`; 0 keeps none'),
  days: z.number().int().min(1).max(3650).default(90).describe('and none older than this many days'),
  evaluate: z.strictObject({
    every: Duration.describe('how often to refresh the accuracy gauges, e.g. 6h'),
    since: Duration.prefault('30d').describe('tickets created in this window are scored, e.g. 30d'),
  }).optional().describe('refresh the switchboard_routing_* Prometheus gauges from the helpdesk on a schedule'),
}).describe('the decisions the gateway keeps about the tickets it created');
