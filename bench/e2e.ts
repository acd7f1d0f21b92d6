import autocannon from 'autocannon';
import { startRedis, type RedisServer } from '../test/fakes/redis-server.ts';
import { gatewayYaml, helpdeskStats, loadAverage, percentile, round, rssMb, sampleRss, sleep, spawnServer, startGateway, tempDir, update, webhookHeaders, type Child, type Store } from './lib.ts';

/**
 * End to end: webhooks in, tickets and comments out, against a helpdesk that answers at once.
 * Throughput: a burst of messages, timed from the first webhook to the last comment the
 * helpdesk received. Added latency: messages paced well below capacity, each timed from
 * its webhook being sent to the helpdesk receiving it. Memory: the gateway's resident set
 * idle and at its peak under the burst.
 */

export interface E2eRun {
  setup: string;
  messages: number;
  conversations: number;
  seconds: number;
  messagesPerSecond: number;
  helpdeskRequests: number;
  latencyRate: number;
  latencyP50: number;
  latencyP99: number;
  rssIdleMb: number;
  rssPeakMb: number;
  load: string;
}



let serial = 10_000_000;

async function burst(gatewayUrl: string, hd: Child, messages: number, chats: number): Promise<{ seconds: number; requests: number }> {
  await fetch(`${hd.url}/bench/reset`, { method: 'POST' });
  const t0 = Date.now();
  const first = serial;
  const sent = await autocannon({
    url: gatewayUrl,
    connections: 32,
    amount: messages,
    requests: [{ method: 'POST', path: '/webhooks/telegram', headers: webhookHeaders, setupRequest: (req) => ({ ...req, body: update(serial++, chats) }) }],
  });
  if (sent.non2xx + sent.errors > 0) throw new Error(`burst: ${sent.non2xx} non-2xx, ${sent.errors} errors (first message ${first})`);
  const deadline = Date.now() + 180_000;
  for (;;) {
    const s = await helpdeskStats(hd);
    if (s.comments >= messages) return { seconds: (Date.now() - t0) / 1000, requests: s.requests };
    if (Date.now() > deadline) throw new Error(`only ${s.comments} of ${messages} messages reached the helpdesk in 180 s`);
    await sleep(20);
  }
}

/** Each message timed from its webhook leaving here to the helpdesk receiving it. */
async function latency(gatewayUrl: string, hd: Child, rate: number, seconds: number, chats: number): Promise<number[]> {
  await fetch(`${hd.url}/bench/reset`, { method: 'POST' });
  const sentAt = new Map<string, number>();
  const total = rate * seconds;
  const start = Date.now();
  const inflight: Promise<unknown>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - Date.now();
    if (wait > 0) await sleep(wait);
    const n = serial++;
    sentAt.set(String(n), Date.now());
    inflight.push(fetch(`${gatewayUrl}/webhooks/telegram`, { method: 'POST', headers: webhookHeaders, body: update(n, chats) }).then((r) => r.arrayBuffer()));
  }
  await Promise.all(inflight);
  const deadline = Date.now() + 60_000;
  let arrivals: Record<string, number> = {};
  while (Date.now() < deadline) {
    arrivals = (await fetch(`${hd.url}/bench/arrivals`).then((r) => r.json())) as Record<string, number>;
    if (Object.keys(arrivals).length >= total) break;
    await sleep(50);
  }
  return [...sentAt].flatMap(([n, at]) => (arrivals[n] === undefined ? [] : [arrivals[n]! - at])).sort((a, b) => a - b);
}

export async function runOne(setup: string, store: Store, roles: ('all' | 'ingress' | 'worker')[], o: { messages: number; chats: number; concurrency: number }): Promise<E2eRun> {
  const hd = await spawnServer('fake-helpdesk.ts');
  const dir = await tempDir();
  const procs: Child[] = [];
  try {
    const yaml = gatewayYaml({ store, helpdeskUrl: hd.url, concurrency: o.concurrency });
    for (const [i, role] of roles.entries()) procs.push(await startGateway({ dir: dir.path, yaml, role, name: `${role}-${i}` }));
    const front = procs.find((p, i) => roles[i] !== 'worker')!;
    await sleep(3000);
    const rssIdleMb = Math.max(...procs.map((p) => rssMb(p.pid)));
    // Warm-up, then the measured burst.
    await burst(front.url, hd, Math.min(2000, o.messages / 5), o.chats);
    const load = loadAverage();
    const samplers = procs.map((p) => sampleRss(p.pid));
    const b = await burst(front.url, hd, o.messages, o.chats);
    const rssPeakMb = Math.max(...samplers.map((s) => s.stop()));
    const rate = 200;
    const lat = await latency(front.url, hd, rate, 10, o.chats);
    return {
      setup,
      messages: o.messages,
      conversations: o.chats,
      seconds: round(b.seconds, 2),
      messagesPerSecond: round(o.messages / b.seconds),
      helpdeskRequests: b.requests,
      latencyRate: rate,
      latencyP50: percentile(lat, 50),
      latencyP99: percentile(lat, 99),
      rssIdleMb,
      rssPeakMb,
      load,
    };
  } finally {
    for (const p of procs) await p.stop();
    await hd.stop();
    await dir.remove();
  }
}

export async function e2eBench(messages: number): Promise<E2eRun[]> {
  const o = { messages, chats: 2000, concurrency: 32 };
  const runs: E2eRun[] = [];
  const dir = await tempDir();
  try {
    runs.push(await runOne('embedded store, one process', { kind: 'embedded', path: `${dir.path}/data` }, ['all'], o));
  } finally {
    await dir.remove();
  }
  let redis: RedisServer | undefined;
  try {
    redis = await startRedis({ appendfsync: 'everysec' });
    runs.push(await runOne('Redis, one process (--role all)', { kind: 'redis', url: redis.url }, ['all'], o));
    await redis.close();
    redis = await startRedis({ appendfsync: 'everysec' });
    runs.push(await runOne('Redis, 1 ingress + 2 workers', { kind: 'redis', url: redis.url }, ['ingress', 'worker', 'worker'], o));
  } finally {
    await redis?.close();
  }
  return runs;
}
