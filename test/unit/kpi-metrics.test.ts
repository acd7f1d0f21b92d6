import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/runtime/metrics.ts';

/**
 * The KPI and rating series a dashboard divides by one another: both sides of a ratio exist as
 * soon as one does, so "nothing answered" or "nothing within SLA" is 0, not a gap in the graph.
 */

const labels = { channel: 'telegram', topic: 'payments', priority: 'high', group: 'payments' };
const csatLabels = { channel: 'telegram', topic: 'payments', group: 'payments' };

async function value(m: ReturnType<typeof createMetrics>, name: string, extra: Record<string, string>): Promise<number | undefined> {
  const metric = (await m.registry.getMetricsAsJSON()).find((x) => x.name === name);
  const hit = metric?.values.find((v) => Object.entries(extra).every(([k, want]) => v.labels[k] === want) && !('le' in v.labels));
  return hit?.value;
}

describe('KPI and rating metrics', () => {
  it('a question asked makes its answered series 0; an answer makes it 1 and adds the score', async () => {
    const m = createMetrics('jsonl');
    m.csat.asked!(csatLabels);
    expect(await value(m, 'switchboard_csat_asked_total', csatLabels)).toBe(1);
    expect(await value(m, 'switchboard_csat_answered_total', csatLabels)).toBe(0);
    m.csat.answered!(csatLabels, 4);
    expect(await value(m, 'switchboard_csat_answered_total', csatLabels)).toBe(1);
    expect(await m.registry.getSingleMetricAsString('switchboard_csat_score')).toContain('switchboard_csat_score_sum{channel="telegram",topic="payments",group="payments"} 4');
  });

  it('a reply to a wait with a target counts within or late (the other result at 0); one without a target counts in neither', async () => {
    const m = createMetrics('jsonl');
    m.response({ kind: 'first', calendarMs: 400_000, businessMs: 400_000, targetMs: 300_000 }, labels);
    expect(await value(m, 'switchboard_sla_responses_total', { ...labels, result: 'late' })).toBe(1);
    expect(await value(m, 'switchboard_sla_responses_total', { ...labels, result: 'within' })).toBe(0);
    m.response({ kind: 'reply', calendarMs: 300_000, businessMs: 300_000, targetMs: 300_000 }, labels);
    expect(await value(m, 'switchboard_sla_responses_total', { ...labels, result: 'within' })).toBe(1);

    const other = { ...labels, channel: 'email' };
    m.response({ kind: 'first', calendarMs: 1000, businessMs: 1000 }, other);
    expect(await value(m, 'switchboard_sla_responses_total', { ...other, result: 'within' })).toBeUndefined();
    expect(await m.registry.getSingleMetricAsString('switchboard_first_response_seconds')).toContain('switchboard_first_response_seconds_count{channel="email",topic="payments",priority="high",group="payments"} 1');
  });
});
