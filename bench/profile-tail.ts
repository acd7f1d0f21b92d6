import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { profiledGateway } from './ingress.ts';
import { loadAverage, paced, percentile, round, update, webhookHeaders } from './lib.ts';

/**
 * What the paced tail is made of: the ingress benchmark's run (1 s warm-up, saturated for
 * `--seconds`, then paced at 1,000 requests a second, open loop, for `--seconds`) against the
 * real gateway with a probe preloaded (bench/tail-probe.ts: event-loop stalls, GC pauses, the
 * SQLite transactions and statements that held the loop, Redis replies that came late; on Redis
 * also Redis' own per-command times, slow log and latency monitor). Prints the paced percentiles, what
 * happened in the gateway during the paced part (by kind: count, total and longest), and for the
 * slowest 1 % of requests what each overlapped.
 *
 *   node bench/profile-tail.ts [--store embedded|redis] [--seconds 6] [--no-saturate] [--repo <checkout>] [--flags "--max-semi-space-size=4"]
 */

const { values } = parseArgs({
  options: {
    store: { type: 'string', default: 'embedded' },
    seconds: { type: 'string', default: '6' },
    'no-saturate': { type: 'boolean', default: false },
    repo: { type: 'string' },
    flags: { type: 'string', default: '' },
    rate: { type: 'string', default: '1000' },
  },
});
const seconds = Number(values.seconds);
// The probe (a module the gateway imports first) writes where this says; the gateway inherits the environment.
const probeOut = join(await mkdtemp(join(tmpdir(), 'switchboard-tail-')), 'probe.jsonl');
process.env.PROBE_OUT = probeOut;
const { gw, redisUrl, stop } = await profiledGateway({
  store: values.store,
  ...(values.repo ? { repo: values.repo } : {}),
  nodeFlags: ['--import', new URL('./tail-probe.ts', import.meta.url).pathname, ...values.flags.split(' ').filter(Boolean)],
});

interface ProbeEvent {
  k: 'stall' | 'gc' | 'tx' | 'exec' | 'redis' | 'client' | 'client-gc';
  at: number;
  ms: number;
  [more: string]: unknown;
}

let n = 0;
const body = () => update(n++, 1000);
const saturate = (s: number) =>
  autocannon({ url: gw.url, connections: 50, duration: s, requests: [{ method: 'POST', path: '/webhooks/telegram', headers: webhookHeaders, setupRequest: (req) => ({ ...req, body: body() }) }] });
try {
  await saturate(1);
  const loadBefore = loadAverage();
  const sat = values['no-saturate'] ? undefined : await saturate(seconds);
  // This process's own stalls and GC pauses count too: a request's latency runs from when it was due.
  const mine: ProbeEvent[] = [];
  let last = performance.now();
  const tick = setInterval(() => {
    const now = performance.now();
    if (now - last > 4) mine.push({ k: 'client', at: performance.timeOrigin + last, ms: now - last });
    last = now;
  }, 1);
  const gcs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (e.duration > 1) mine.push({ k: 'client-gc', at: performance.timeOrigin + e.startTime, ms: e.duration });
  });
  gcs.observe({ entryTypes: ['gc'] });
  // Redis' own view of the paced part: its latency monitor (fsync, commands, forks), its per-command times, its slow log.
  const server = redisUrl ? new Redis(redisUrl) : undefined;
  await server?.config('SET', 'latency-monitor-threshold', '1');
  await server?.config('RESETSTAT');
  await server?.slowlog('RESET');
  await server?.config('SET', 'slowlog-log-slower-than', '1000');
  await server?.latency('RESET');
  const from = Date.now();
  const p = await paced(gw.url, { rate: Number(values.rate), seconds, body, headers: webhookHeaders });
  const to = Date.now();
  clearInterval(tick);
  gcs.disconnect();
  await new Promise((r) => setTimeout(r, 500)); // the probe writes every 200 ms
  const events = (await readFile(probeOut, 'utf8'))
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as ProbeEvent)
    .concat(mine)
    .filter((e) => e.at + e.ms >= from && e.at <= to);
  console.log(`load average ${loadBefore} → ${loadAverage()}; saturated acks/s ${sat ? Math.round(sat.requests.average) : '-'}`);
  console.log(`paced: p50 ${round(percentile(p.latencies, 50), 1)} ms, p99 ${round(percentile(p.latencies, 99), 1)} ms, p99.9 ${round(percentile(p.latencies, 99.9), 1)} ms, max ${round(p.latencies.at(-1) ?? NaN, 1)} ms, non-2xx ${p.non2xx}, errors ${p.errors}`);
  const kinds = new Map<string, number[]>();
  for (const e of events) {
    const name = e.k === 'exec' ? `exec ${String(e.sql)}` : e.k === 'redis' ? `redis ${String(e.cmd)}` : e.k === 'gc' ? `gc kind ${String(e.kind)}` : e.k;
    kinds.set(name, [...(kinds.get(name) ?? []), e.ms]);
  }
  console.log('during the paced part (gateway): kind, count, total ms, longest ms');
  for (const [name, ms] of [...kinds].sort((a, b) => b[1].reduce((x, y) => x + y) - a[1].reduce((x, y) => x + y)))
    console.log(`  ${name}: ${ms.length}, ${round(ms.reduce((x, y) => x + y), 1)}, ${round(Math.max(...ms), 1)}`);
  const p99 = percentile(p.latencies, 99);
  const slow = p.timeline.filter((r) => r.ms >= p99);
  const overlap = new Map<string, number>();
  for (const r of slow) {
    const hit = new Set(events.filter((e) => e.at < r.at + r.ms && e.at + e.ms > r.at).map((e) => e.k));
    const key = [...hit].sort().join('+') || 'nothing recorded';
    overlap.set(key, (overlap.get(key) ?? 0) + 1);
  }
  console.log(`slowest 1 % (${slow.length} requests ≥ ${round(p99, 1)} ms) overlapped:`);
  for (const [key, count] of [...overlap].sort((a, b) => b[1] - a[1])) console.log(`  ${key}: ${count}`);
  // When the slow ones were, in 100 ms buckets since the paced part began.
  const buckets = new Map<number, number>();
  for (const r of slow) buckets.set(Math.floor((r.at - from) / 100), (buckets.get(Math.floor((r.at - from) / 100)) ?? 0) + 1);
  console.log(`slow requests by 100 ms bucket: ${[...buckets].sort((a, b) => a[0] - b[0]).map(([b, c]) => `${b}:${c}`).join(' ')}`);
  if (server) {
    const stats = (await server.info('commandstats')).split('\n').filter((l) => /cmdstat_(evalsha|exec|rpush|zadd)\b/.test(l));
    console.log(`Redis during the paced part: ${stats.map((l) => l.trim().replace(/,rejected_calls.*$/, '')).join('; ')}`);
    const persistence = (await server.info('persistence')).split('\n').filter((l) => /aof_delayed_fsync|aof_rewrites|rdb_bgsave_in_progress|aof_last_write_status/.test(l));
    console.log(`  ${persistence.map((l) => l.trim()).join(', ')}`);
    console.log(`  latency monitor (event, latest ms, max ms): ${JSON.stringify(((await server.latency('LATEST')) as [string, number, number, number][]).map((e) => [e[0], e[2], e[3]]))}`);
    const slow = (await server.slowlog('GET', 20)) as [number, number, number, string[]][];
    console.log(`  slow log (≥ 1 ms): ${slow.length} commands, longest ${Math.max(0, ...slow.map((e) => e[2])) / 1000} ms: ${slow.slice(0, 5).map((e) => `${e[3][0]} ${e[2]} µs`).join(', ')}`);
    server.disconnect();
  }
  if (process.env.TAIL_DUMP) {
    const { writeFile } = await import('node:fs/promises');
    await writeFile(process.env.TAIL_DUMP, JSON.stringify({ from, to, timeline: p.timeline, events }));
  }
} finally {
  await stop();
  await rm(dirname(probeOut), { recursive: true, force: true });
}
