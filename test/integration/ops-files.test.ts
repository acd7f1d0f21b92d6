import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { z } from 'zod';
import { registry } from '../../connectors/registry.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { createMetrics } from '../../src/runtime/metrics.ts';
import { REPO, tempDir } from '../e2e/harness.ts';

/**
 * docs/ops/: the alert rules and the Grafana dashboard must parse and must only use metrics
 * (and labels) that a running gateway's /metrics exposes, or an alert would never fire.
 * The metric names themselves follow Prometheus' conventions.
 */

const AlertRules = z.strictObject({
  groups: z.array(z.strictObject({
    name: z.string().min(1),
    rules: z.array(z.strictObject({
      alert: z.string().regex(/^[A-Z][A-Za-z0-9]+$/),
      expr: z.string().min(1),
      for: z.string().regex(/^\d+[smh]$/).optional(),
      labels: z.strictObject({ severity: z.enum(['warning', 'critical']) }),
      annotations: z.strictObject({ summary: z.string().min(1), description: z.string().min(1) }),
    })).min(1),
  })).min(1),
});

/** docs/kpi.md and docs/csat.md: what the dashboard's Support KPIs row and the rating alerts read. */
const KPI_METRICS = [
  'switchboard_first_response_seconds', 'switchboard_reply_seconds', 'switchboard_sla_warnings_total', 'switchboard_sla_breaches_total',
  'switchboard_sla_responses_total', 'switchboard_csat_asked_total', 'switchboard_csat_answered_total', 'switchboard_csat_score',
  'switchboard_csat_skipped_total',
];

/** Made by Prometheus itself, not by the gateway. */
const FROM_PROMETHEUS = new Set(['up']);
const PROMQL_WORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset']);
/** Labels Prometheus adds to every scraped series. */
const TARGET_LABELS = new Set(['job', 'instance']);

/** The metric names and label names an expression uses. */
export function referenced(expr: string): { metrics: string[]; labels: Map<string, string[]> } {
  const labels = new Map<string, string[]>();
  for (const m of expr.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}/g)) {
    // Every selector of a metric counts (a ratio names it twice, with different labels).
    const used = [...m[2]!.matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g)].map((l) => l[1]!);
    labels.set(m[1]!, [...new Set([...(labels.get(m[1]!) ?? []), ...used])]);
  }
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, '')
    .replace(/\[[^\]]*\]/g, '')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  const metrics = [...bare.matchAll(/(?<![\w.])([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)]
    .map((m) => m[1]!)
    .filter((w) => !PROMQL_WORDS.has(w) && !/^\d/.test(w));
  return { metrics: [...new Set(metrics)], labels };
}

describe('ops files in docs/ops/', () => {
  let dir: { path: string; remove(): Promise<void> };
  let gw: Gateway;
  let families: Map<string, string>;

  beforeAll(async () => {
    dir = await tempDir('switchboard-ops-');
    const file = join(dir.path, 'switchboard.yaml');
    await writeFile(file, `
server: { host: 127.0.0.1 }
store: { kind: embedded, path: ${dir.path}/data }
log: { level: silent }
helpdesk: { kind: jsonl, path: ${dir.path}/tickets.jsonl }
channels:
  contact: { kind: webform, fields: { message: { required: true } } }
`);
    gw = await startGateway({ configFile: file, registry, port: 0, env: {} });
    const text = (await gw.app.inject({ method: 'GET', url: '/metrics' })).body;
    families = new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1]!, m[2]!]));
  });
  afterAll(async () => {
    await gw?.close();
    await dir?.remove();
  });

  /** A series name /metrics exposes: a family, or a histogram's _bucket, _sum, _count. */
  const exposed = (name: string) => {
    if (families.has(name) || FROM_PROMETHEUS.has(name)) return true;
    const base = name.replace(/_(bucket|sum|count)$/, '');
    return base !== name && ['histogram', 'summary'].includes(families.get(base) ?? '');
  };
  const labelNames = (name: string): Set<string> => {
    const metric = createMetrics('jsonl').registry.getSingleMetric(name.replace(/_(bucket|sum|count)$/, '')) as { labelNames?: string[] } | undefined;
    return new Set([...(metric?.labelNames ?? []), ...TARGET_LABELS, ...(name.endsWith('_bucket') ? ['le'] : [])]);
  };
  const checkExpr = (where: string, expr: string) => {
    const { metrics, labels } = referenced(expr);
    expect(metrics.length, `${where}: no metric in ${expr}`).toBeGreaterThan(0);
    for (const m of metrics) expect(exposed(m), `${where}: ${m} is not exposed by /metrics`).toBe(true);
    for (const [m, used] of labels) {
      if (FROM_PROMETHEUS.has(m)) continue;
      for (const l of used) expect(labelNames(m).has(l), `${where}: ${m} has no label ${l}`).toBe(true);
    }
  };

  it('alert rules: valid YAML in Prometheus\' rule-file shape, using only exposed metrics and labels', async () => {
    const rules = AlertRules.parse(parse(await readFile(join(REPO, 'docs/ops/alerts.yaml'), 'utf8')));
    const names = rules.groups.flatMap((g) => g.rules.map((r) => r.alert));
    expect(names).toEqual(expect.arrayContaining([
      'SwitchboardDeadLettersGrowing', 'SwitchboardOldestWaitingOverSla', 'SwitchboardChannelDown', 'SwitchboardHelpdeskRefusesCredentials',
      'SwitchboardSlaBreachesGrowing', 'SwitchboardCsatAnswersStopped', 'SwitchboardCsatAverageLow',
    ]));
    expect(new Set(names).size).toBe(names.length);
    for (const g of rules.groups) for (const r of g.rules) {
      checkExpr(r.alert, r.expr);
      expect(balanced(r.expr), `${r.alert}: unbalanced brackets`).toBe(true);
    }
  });

  it('Grafana dashboard: valid JSON whose every panel queries exposed metrics and labels', async () => {
    const dashboard = JSON.parse(await readFile(join(REPO, 'docs/ops/grafana-dashboard.json'), 'utf8')) as {
      panels: { title: string; type: string; targets?: { expr: string }[] }[];
      templating: { list: { query: string }[] };
    };
    expect(dashboard.panels.length).toBeGreaterThan(10);
    const queried = new Set<string>();
    for (const p of dashboard.panels) {
      // A row only groups the panels after it.
      if (p.type !== 'row') expect(p.targets?.length, `${p.title}: no query`).toBeGreaterThan(0);
      for (const t of p.targets ?? []) {
        checkExpr(p.title, t.expr.replaceAll('$job', 'x'));
        expect(balanced(t.expr), `${p.title}: unbalanced brackets`).toBe(true);
        for (const m of referenced(t.expr).metrics) queried.add(m.replace(/_(bucket|sum|count)$/, ''));
      }
    }
    for (const v of dashboard.templating.list) expect(exposed(/label_values\((\w+)/.exec(v.query)![1]!)).toBe(true);
    // The support KPIs have their panels (docs/kpi.md, docs/csat.md).
    for (const m of KPI_METRICS.filter((name) => name !== 'switchboard_csat_skipped_total')) expect(queried, m).toContain(m);
  });

  it('the KPI and rating metrics are exposed before any sample, by a gateway without sla, kpi or csat configured', () => {
    for (const m of KPI_METRICS) expect(families.has(m), m).toBe(true);
  });

  it('metric names follow Prometheus conventions: one prefix, counters end in _total, units spelled out', () => {
    expect(families.size).toBeGreaterThan(20);
    for (const [name, type] of families) {
      expect(name).toMatch(/^[a-z_][a-z0-9_]*$/);
      expect(name, 'a doubled word such as switchboard_process_process_').not.toMatch(/(^|_)([a-z]+)_\2_/);
      // prom-client's own gauge nodejs_active_resources_total is a standard name we keep as it is.
      if (type === 'counter' || name.startsWith('switchboard_')) expect(name.endsWith('_total'), `${name} (${type})`).toBe(type === 'counter');
      expect(name).toMatch(/^(switchboard|process|nodejs)_/);
    }
    for (const name of ['switchboard_dead_letters', 'switchboard_oldest_queued_seconds', 'switchboard_channel_ready', 'switchboard_delivery_failures_total', 'process_resident_memory_bytes']) {
      expect(families.has(name), name).toBe(true);
    }
  });

  it('the expression reader finds metrics and labels, not functions, keywords or grouping labels', () => {
    expect(referenced('sum by (job, channel) (increase(switchboard_x_total{target="a", status=~"401|403"}[10m])) > 0 and on (job) up == 1')).toEqual({
      metrics: ['switchboard_x_total', 'up'],
      labels: new Map([['switchboard_x_total', ['target', 'status']]]),
    });
    expect(referenced('sum(switchboard_y_total{a="1", result="within"}) / sum(switchboard_y_total{a="1"})').labels).toEqual(new Map([['switchboard_y_total', ['a', 'result']]]));
  });
});

function balanced(expr: string): boolean {
  const open: string[] = [];
  const pairs: Record<string, string> = { ')': '(', ']': '[', '}': '{' };
  for (const c of expr.replace(/"(?:[^"\\]|\\.)*"/g, '')) {
    if ('([{'.includes(c)) open.push(c);
    else if (c in pairs && open.pop() !== pairs[c]) return false;
  }
  return open.length === 0;
}
