import type { DrainRun } from './drain.ts';
import type { E2eRun } from './e2e.ts';
import type { FairnessRun } from './fairness.ts';
import { TARGET_NAMES, TARGETS, type BacklogRun, type IngressRun, type Target } from './ingress.ts';
import { round, spread } from './lib.ts';
import type { MemoryRun } from './memory.ts';
import type { ModelRun } from './model.ts';
import { rateLimitMet, type RateLimitRun } from './rate-limit.ts';
import { requestsTable, type RequestsRun } from './requests.ts';
import type { StormRun } from './storm.ts';

/** Everything one `npm run bench` measured; the Markdown for BENCHMARKS.md is made from it. */
export interface Results {
  at: string;
  quick: boolean;
  machine: Record<string, string>;
  ingress?: IngressRun[];
  storm?: StormRun[];
  drain?: DrainRun[];
  fairness?: FairnessRun[];
  backlog?: BacklogRun[];
  e2e?: E2eRun[];
  memory?: MemoryRun[];
  rateLimit?: RateLimitRun[];
  requests?: RequestsRun[];
  model?: ModelRun;
  /** bench/rules.ts's own Markdown. */
  rules?: string;
}

export const BEGIN = '<!-- npm run bench: generated from here -->';
export const END = '<!-- npm run bench: generated up to here -->';

const fmt = (n: number, digits = 0) => round(n, digits).toLocaleString('en');
const pct = (n: number) => `${fmt(n * 100)} %`;
const verdict = (ok: boolean) => (ok ? 'met' : '**missed**');

/** "median (min–max)" */
function range(values: number[], digits = 0, unit = ''): string {
  const s = spread(values);
  return values.length > 1 ? `${fmt(s.median, digits)}${unit} (${fmt(s.min, digits)}–${fmt(s.max, digits)})` : `${fmt(s.median, digits)}${unit}`;
}

/** Per round, a value of one target divided by another's in the same round. */
function ratios(runs: IngressRun[], target: Target, base: Target, key: 'acks' | 'pacedP99'): number[] {
  const out: number[] = [];
  for (const r of runs.filter((x) => x.target === target)) {
    const b = runs.find((x) => x.target === base && x.round === r.round);
    if (b && b[key] > 0) out.push(r[key] / b[key]);
  }
  return out;
}

function loads(items: { load: string }[]): string {
  const first = items.map((i) => Number(i.load.split(' / ')[0]));
  return first.length === 0 ? '' : first.length === 1 ? first[0]!.toFixed(2) : `${Math.min(...first).toFixed(2)}–${Math.max(...first).toFixed(2)}`;
}

interface Row {
  target: string;
  result: string;
  ok?: boolean;
  load: string;
}

function targets(r: Results): Row[] {
  const rows: Row[] = [];
  for (const setup of new Set((r.storm ?? []).map((s) => s.setup))) {
    const runs = r.storm!.filter((s) => s.setup === setup);
    rows.push({
      target: `deliveries during an ingress storm ≥ 0.5× unloaded, ${setup}`,
      result: `${range(runs.map((s) => s.share), 2, '×')} (${range(runs.map((s) => s.during))} of ${range(runs.map((s) => s.unloaded))} msg/s; acks ${range(runs.map((s) => s.acks))}/s)`,
      ok: runs.every((s) => s.share >= 0.5),
      load: loads(runs),
    });
  }
  const drain = r.drain ?? [];
  const embedded = drain.find((d) => d.setup.startsWith('embedded'));
  const redisOne = drain.find((d) => d.setup.startsWith('Redis') && d.setup.includes('one process'));
  if (embedded && redisOne) {
    rows.push({
      target: 'Redis drains as fast as the embedded store, one process',
      result: `${fmt(redisOne.perSecond / embedded.perSecond, 2)}× (${fmt(redisOne.perSecond)} vs ${fmt(embedded.perSecond)} msg/s)`,
      ok: redisOne.perSecond >= 0.95 * embedded.perSecond,
      load: loads([embedded, redisOne]),
    });
  }
  const workers = drain.filter((d) => d.setup.includes('ingress +'));
  if (workers.length > 1) {
    const one = workers[0]!;
    rows.push({
      target: 'Redis scales with worker processes (reported)',
      result: workers.map((w) => `${w.workers}: ${fmt(w.perSecond)} msg/s (${fmt(w.perSecond / one.perSecond, 2)}×)`).join(', '),
      load: loads(workers),
    });
  }
  for (const f of r.fairness ?? []) {
    const [urgent, fresh, behind] = f.probes;
    if (urgent) {
      rows.push({
        target: `under a ${fmt(f.backlog)}-message backlog, a new urgent message goes within the next few helpdesk requests, ${f.setup}`,
        result: `${urgent.requests} requests (${urgent.messagesBefore} messages before it; a queue in arrival order: ${fmt(urgent.fifo)})`,
        ok: urgent.messagesBefore <= urgent.fairShare,
        load: f.load.split(' / ')[0]!,
      });
    }
    if (fresh) {
      rows.push({
        target: `a new ordinary conversation waits no more than its fair share, ${f.setup}`,
        result: `${fmt(fresh.messagesBefore)} messages before it; fair share ${fmt(fresh.fairShare)}; arrival order ${fmt(fresh.fifo)}`,
        ok: fresh.messagesBefore <= fresh.fairShare,
        load: f.load.split(' / ')[0]!,
      });
    }
    if (behind) {
      rows.push({
        target: `an urgent message behind its own conversation's queued messages, ${f.setup}`,
        result: `${behind.messagesBefore} messages before it (its own queued ones go first); fair share ${behind.fairShare}`,
        ok: behind.messagesBefore <= behind.fairShare,
        load: f.load.split(' / ')[0]!,
      });
    }
  }
  const ingress = r.ingress ?? [];
  for (const t of ['embedded', 'redis'] as const) {
    const acks = ratios(ingress, t, 'sqlite-group', 'acks');
    if (acks.length > 0) {
      rows.push({
        target: `accept ≥ 0.8× the SQLite group-commit anchor, ${TARGET_NAMES[t]}`,
        result: `${range(acks, 2, '×')}`,
        ok: spread(acks).median >= 0.8,
        load: loads(ingress.filter((x) => x.target === t)),
      });
    }
    const p99 = ratios(ingress, t, 'sqlite', 'pacedP99');
    if (p99.length > 0) {
      rows.push({
        target: `paced 1,000/s p99 ≤ 2× the per-request SQLite anchor's, ${TARGET_NAMES[t]}`,
        result: `${range(p99, 2, '×')}`,
        ok: spread(p99).median <= 2,
        load: loads(ingress.filter((x) => x.target === t)),
      });
    }
  }
  const backlog = r.backlog ?? [];
  for (const store of ['embedded', 'redis'] as const) {
    const largest = backlog.filter((b) => b.store === store).sort((a, b) => b.backlog - a.backlog)[0];
    if (largest && largest.backlog > 0) {
      rows.push({
        target: `ingress at a ${fmt(largest.backlog)} backlog ≥ 0.95× the empty store's, ${store}`,
        result: `${fmt(largest.ratio, 2)}× (${fmt(largest.ratioMin, 2)}–${fmt(largest.ratioMax, 2)}, ${largest.rounds} rounds)`,
        ok: largest.ratio >= 0.95,
        load: largest.load.split(' / ')[0]!,
      });
    }
  }
  for (const e of r.e2e ?? []) {
    rows.push({ target: `end to end ≥ 2,000 messages/s, ${e.setup}`, result: `${fmt(e.messagesPerSecond)} msg/s`, ok: e.messagesPerSecond >= 2000, load: e.load.split(' / ')[0]! });
  }
  for (const m of r.memory ?? []) {
    rows.push({ target: `resident memory ≤ 150 MB idle, ${m.setup}, ${m.flags}`, result: `${fmt(m.idleMb, 1)} MB`, ok: m.idleMb <= 150, load: m.load.split(' / ')[0]! });
  }
  for (const l of r.rateLimit ?? []) {
    rows.push({
      target: `a rate-limited helpdesk: ≥ 95 % of its allowance, ≤ 1 % 429s, nothing lost, ${l.scenario}`,
      result: `${pct(l.meanPerWindow / l.allowedPerWindow)} of the window, ${fmt((l.limited / (l.requests + l.limited)) * 100, 2)} % 429, lost ${l.lost}, duplicated ${l.duplicated}`,
      ok: rateLimitMet(l),
      load: l.load.split(' / ')[0]!,
    });
  }
  return rows;
}

function table(head: string[], rows: (string | number)[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** The generated part of BENCHMARKS.md: the targets at a glance, then every table, from one run. */
export function markdown(r: Results): string {
  const out: string[] = [BEGIN, ''];
  out.push(`## Targets at a glance (this run${r.quick ? ', quick mode' : ''})`, '');
  out.push(table(['target', 'result', '', 'load average (1 min)'], targets(r).map((row) => [row.target, row.result, row.ok === undefined ? 'reported' : verdict(row.ok), row.load])));
  out.push('', '## Machine', '');
  out.push(`Run of ${r.at}.`, '');
  for (const [k, v] of Object.entries(r.machine)) out.push(`- ${k}: ${v}`);
  out.push('', 'Load generator, gateway, helper servers and Redis all share the cores.');

  if (r.ingress?.length) {
    const rounds = Math.max(...r.ingress.map((x) => x.round));
    out.push('', '## Ingress', '');
    out.push(
      `Each target ${rounds} time${rounds > 1 ? 's' : ''}, in rounds (every target once per round, each run on a fresh server and store); median and, in brackets, the range. ` +
        'Saturated: 50 connections; CPU per ack: the server process\'s CPU time (all its threads, not Redis\') over the saturated run, divided by its 2xx answers. Paced: 1,000 requests a second, open loop, latency from each request\'s scheduled start.',
      '',
    );
    out.push(
      table(
        ['target', 'acks/s', 'CPU µs per ack', 'vs bare', 'vs SQLite group commit', 'paced p50 ms', 'paced p99 ms', 'p99 vs per-request SQLite', 'stored / acked', 'load'],
        TARGETS.filter((t) => r.ingress!.some((x) => x.target === t)).map((t) => {
          const runs = r.ingress!.filter((x) => x.target === t);
          const stored = runs.reduce((a, x) => a + (x.stored ?? 0), 0);
          const bad = runs.reduce((a, x) => a + x.non2xx + x.errors, 0);
          return [
            TARGET_NAMES[t],
            range(runs.map((x) => x.acks)),
            runs.some((x) => x.cpuPerAck !== undefined) ? range(runs.map((x) => x.cpuPerAck ?? NaN)) : '–',
            range(ratios(r.ingress!, t, 'bare', 'acks'), 2, '×'),
            range(ratios(r.ingress!, t, 'sqlite-group', 'acks'), 2, '×'),
            range(runs.map((x) => x.pacedP50), 1),
            range(runs.map((x) => x.pacedP99), 1),
            range(ratios(r.ingress!, t, 'sqlite', 'pacedP99'), 2, '×'),
            `${runs.some((x) => x.stored !== undefined) ? fmt(stored) : '–'} / ${fmt(runs.reduce((a, x) => a + x.acked, 0))}${bad > 0 ? ` (${bad} not 2xx)` : ''}`,
            loads(runs),
          ];
        }),
      ),
    );
  }
  if (r.storm?.length) {
    out.push('', '## Delivery during an ingress storm', '');
    out.push(
      'One gateway process (and on Redis also an ingress process beside a worker process), `delivery.concurrency: 8`, a helpdesk that answers at once. ' +
        'Unloaded: a held-back backlog delivered with nothing else going on. Storm: webhooks from 50 connections as fast as they go. ' +
        'CPU share: deliveries per CPU-second of the gateway (and Redis) in the storm, as a share of the same unloaded. Each setup in rounds, the setups taking turns.',
      '',
    );
    out.push(
      table(
        ['setup', 'round', 'unloaded msg/s', 'acks/s in the storm', 'delivered msg/s in the storm', 'share of unloaded', 'CPU share', 'delivered msg/s after', 'load'],
        r.storm.map((s) => [s.setup, String(s.round), fmt(s.unloaded), fmt(s.acks), fmt(s.during), `${fmt(s.share, 2)}×`, `${fmt(s.cpuShare, 2)}×`, fmt(s.after), s.load]),
      ),
    );
  }
  if (r.drain?.length) {
    out.push('', '## Drain', '');
    out.push(`A backlog of ${fmt(r.drain[0]!.messages)} messages (2,000 conversations) taken in while the helpdesk held every request, then delivered to a helpdesk that answers at once; \`delivery.concurrency: 32\` per process. CPU: the gateway processes' (and Redis') CPU time per delivered message.`, '');
    out.push(table(['setup', 'seconds', 'messages/s', 'gateway CPU µs/msg', 'Redis CPU µs/msg', 'Redis round trips/msg', 'load'], r.drain.map((d) => [d.setup, fmt(d.seconds, 1), fmt(d.perSecond), fmt(d.gatewayCpuUs), d.redisCpuUs === undefined ? '–' : fmt(d.redisCpuUs), d.redisRoundTrips === undefined ? '–' : fmt(d.redisRoundTrips, 1), d.load])));
  }
  if (r.fairness?.length) {
    const f0 = r.fairness[0]!;
    out.push('', '## Under backlog: urgent first, fair for everyone', '');
    out.push(
      `The shipped iGaming rules, the default flood limit, a helpdesk limited to ${fmt(f0.perMinute)} requests a minute, \`delivery.concurrency: 8\`. ` +
        `Queued: ${fmt(f0.backlog)} messages (ordinary conversations with 5 each, and senders flooding far over the limit). ` +
        'Then three probes; for each, the helpdesk requests and the other messages delivered between its ack and its arrival. ' +
        'Fair share: the conversations ahead of it in its class (round-robin gives each one turn first) plus the deliveries already in flight, plus (for the ordinary message) the urgent ones that come while it waits and go first by design (the two pleas, and the queued messages of the conversation the second one lifts); arrival order: what a single queue would make it wait.',
      '',
    );
    out.push(
      table(
        ['setup', 'probe', 'helpdesk requests', 'messages before it', 'fair share', 'arrival order', 'seconds', 'load'],
        r.fairness.flatMap((f) => f.probes.map((p) => [f.setup, p.probe, fmt(p.requests), fmt(p.messagesBefore), fmt(p.fairShare), fmt(p.fifo), fmt(p.seconds, 2), f.load])),
      ),
    );
    out.push('', ...r.fairness.map((f) => `- ${f.setup}: ${fmt(f.throttledDelivered)} of the ${fmt(f.throttled)} messages of throttled senders were delivered before the probes (they wait behind everyone; none is dropped).`));
  }
  if (r.backlog?.length) {
    out.push('', '## Ingress as the backlog grows', '');
    out.push(
      'Saturated acks with the queue filled to each size (nothing delivered: the helpdesk never answers), each run right after one on a fresh empty store, in rounds; ' +
        'vs empty: the median of the rounds\' ratios and, in brackets, their range.',
      '',
    );
    out.push(
      table(
        ['store', 'queued', 'acks/s', 'empty store acks/s', 'vs empty', 'Redis memory per queued message', 'load'],
        r.backlog.map((b) => [b.store, fmt(b.backlog), fmt(b.acks), fmt(b.emptyAcks), `${fmt(b.ratio, 2)}× (${fmt(b.ratioMin, 2)}–${fmt(b.ratioMax, 2)})`, b.bytesPerMessage === undefined ? '–' : `${fmt(b.bytesPerMessage)} B`, b.load]),
      ),
    );
    for (const b of r.backlog.filter((x) => x.aofRewrites !== undefined)) {
      out.push('', `Redis at ${fmt(b.backlog)} queued: ${b.aofRewrites} append-only-file rewrite(s) (a forked child writing the dataset) ran into the filled store's measured rounds.`);
    }
    for (const b of r.backlog.filter((x) => x.restart)) {
      const k = b.restart!;
      out.push(
        '',
        `Restart after SIGKILL with ${fmt(k.queuedBefore)} queued (${b.store} store): ready (answering /healthz, polled every 100 ms) ${fmt(k.readyMs / 1000, 2)} s after the same command ran again, ` +
          `${fmt(k.queuedAfter)} queued after it (${k.queuedAfter >= k.queuedBefore ? 'nothing lost' : `${fmt(k.queuedBefore - k.queuedAfter)} LOST`}), ${fmt(k.rssMb)} MB resident once ready.`,
      );
    }
  }
  if (r.e2e?.length) {
    out.push('', '## End to end', '');
    out.push(`${fmt(r.e2e[0]!.messages)} messages from ${fmt(r.e2e[0]!.conversations)} Telegram conversations as fast as 32 connections go, from the first webhook to the last comment the helpdesk received; added latency paced at ${r.e2e[0]!.latencyRate}/s. \`delivery.concurrency: 32\`.`, '');
    out.push(table(['setup', 'messages/s', 'helpdesk requests', 'added latency p50 / p99 ms', 'RSS idle / peak MB', 'load'], r.e2e.map((e) => [e.setup, fmt(e.messagesPerSecond), fmt(e.helpdeskRequests), `${e.latencyP50} / ${e.latencyP99}`, `${fmt(e.rssIdleMb)} / ${fmt(e.rssPeakMb)}`, e.load])));
  }
  if (r.memory?.length) {
    out.push('', '## Memory', '');
    out.push(table(['setup', 'Node flags', 'idle MB', 'peak at 1,000 webhooks/s MB', 'load'], r.memory.map((m) => [m.setup, m.flags, fmt(m.idleMb, 1), fmt(m.loadPeakMb, 1), m.load])));
  }
  if (r.rateLimit?.length) {
    const l0 = r.rateLimit[0]!;
    out.push('', '## Rate limit', '');
    out.push(`${fmt(l0.messages)} messages into a fake Freshdesk allowing N = ${fmt(l0.perMinuteAllowed)} requests a minute in fixed windows of ${l0.windowMs / 1000} s.`, '');
    out.push(
      table(
        ['scenario', 'helpdesk requests', 'seconds', 'per full window (mean)', 'of what the window allows', 'busiest window', '429 answers', 'lost', 'duplicated', 'load'],
        r.rateLimit.map((l) => [l.scenario, fmt(l.requests), fmt(l.seconds, 1), `${fmt(l.meanPerWindow)} (${l.fullWindows} windows)`, `${pct(l.meanPerWindow / l.allowedPerWindow)} of ${fmt(l.allowedPerWindow)}`, fmt(l.busiestWindow), `${l.limited}`, l.lost, l.duplicated, l.load]),
      ),
    );
  }
  if (r.requests?.length) {
    out.push('', '## Helpdesk requests per message', '');
    out.push('The shipped rules, the real gateway process against each fake helpdesk (test/fakes/), which counts every request it gets. A count is deterministic: one run is the figure.', '');
    out.push(requestsTable(r.requests));
  }
  if (r.model) {
    const m = r.model;
    out.push('', '## Text model', '');
    out.push(`config/models/igaming.json; every labeled message in test/rules/ (${fmt(m.messages)}).`, '');
    out.push(
      table(
        ['file KB', 'load ms (median of 5)', 'JSON.parse alone ms', 'score µs/message (median)', 'p99 µs', 'rules µs/message without model', 'with model'],
        [[fmt(m.fileKb), fmt(m.loadMs, 1), fmt(m.parseMs, 1), fmt(m.scoreUs, 1), fmt(m.scoreP99Us, 1), fmt(m.rulesUs, 1), fmt(m.rulesWithModelUs, 1)]],
      ),
    );
  }
  if (r.rules) out.push('', r.rules);
  out.push('', END);
  return out.join('\n');
}

/** BENCHMARKS.md with its generated part replaced (the hand-written text around it stays). */
export function updateDocument(doc: string, generated: string): string {
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  if (a === -1 || b === -1 || b < a) return `${doc.trimEnd()}\n\n${generated}\n`;
  return doc.slice(0, a) + generated + doc.slice(b + END.length);
}
