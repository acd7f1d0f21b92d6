import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { startRedis } from '../test/fakes/redis-server.ts';
import { cpuMeter, gatewayYaml, helpdeskStats, loadAverage, round, sleep, spawnServer, startGateway, tempDir, update, webhookHeaders, type Child, type Store } from './lib.ts';

/**
 * Drain: a backlog of messages (100,000 by default) delivered to a helpdesk that answers at
 * once, so what is measured is how fast the gateway itself empties its queue. The backlog is
 * taken in while the helpdesk holds every request (nothing is delivered); the clock starts
 * when the helpdesk lets go and stops when it holds the last message. The embedded store and
 * Redis with one process (`--role all`) side by side, then Redis with 1, 2 and 4 worker
 * processes behind one ingress.
 */

export interface DrainRun {
  setup: string;
  workers: number;
  messages: number;
  seconds: number;
  perSecond: number;
  /** CPU time of the gateway processes (and Redis) per delivered message: what the rate costs, whatever else runs. */
  gatewayCpuUs: number;
  redisCpuUs?: number;
  /**
   * Requests Redis read from its clients per delivered message (INFO stats total_reads_processed):
   * the round trips, however many commands each carried (a pipeline is one).
   */
  redisRoundTrips?: number;
  load: string;
}


let serial = 40_000_000;

async function fill(url: string, messages: number, chats: number): Promise<void> {
  const sent = await autocannon({
    url,
    connections: 32,
    amount: messages,
    requests: [{ method: 'POST', path: '/webhooks/telegram', headers: webhookHeaders, setupRequest: (req) => ({ ...req, body: update(serial++, chats) }) }],
  });
  if (sent.non2xx + sent.errors > 0) throw new Error(`filling the backlog: ${sent.non2xx} non-2xx, ${sent.errors} errors`);
}

/** Reads Redis has processed so far (each one a client's request: a command or a pipeline of them). */
async function redisReads(url: string): Promise<number> {
  const r = new Redis(url, { lazyConnect: true });
  try {
    await r.connect();
    return Number(/total_reads_processed:(\d+)/.exec(await r.info('stats'))?.[1] ?? NaN);
  } finally {
    r.disconnect();
  }
}

async function one(setup: string, store: Store, roles: ('all' | 'ingress' | 'worker')[], messages: number, chats: number, redisPid?: number): Promise<DrainRun> {
  const hd = await spawnServer('fake-helpdesk.ts');
  const dir = await tempDir();
  const procs: Child[] = [];
  try {
    await fetch(`${hd.url}/bench/hold`, { method: 'POST' });
    const yaml = gatewayYaml({ store, helpdeskUrl: hd.url, concurrency: 32, timeoutMs: 600_000 });
    for (const [i, role] of roles.entries()) procs.push(await startGateway({ dir: dir.path, yaml, role, name: `${role}-${i}` }));
    await fill(procs[0]!.url, messages, chats);
    await sleep(500);
    const load = loadAverage();
    const gatewayCpu = cpuMeter(procs.map((p) => p.pid));
    const redisCpu = redisPid === undefined ? undefined : cpuMeter([redisPid]);
    const readsBefore = store.kind === 'redis' ? await redisReads(store.url) : undefined;
    const t0 = Date.now();
    await fetch(`${hd.url}/bench/release`, { method: 'POST' });
    const deadline = t0 + 600_000;
    for (;;) {
      const s = await helpdeskStats(hd);
      if (s.comments >= messages) break;
      if (Date.now() > deadline) throw new Error(`${setup}: only ${s.comments} of ${messages} delivered in 10 minutes`);
      await sleep(50);
    }
    const seconds = (Date.now() - t0) / 1000;
    // The two INFO calls of this count are its only reads that are not the gateway's.
    const reads = readsBefore === undefined || store.kind !== 'redis' ? undefined : (await redisReads(store.url)) - readsBefore - 2;
    return {
      setup,
      workers: roles.filter((r) => r !== 'ingress').length,
      messages,
      seconds: round(seconds, 1),
      perSecond: round(messages / seconds),
      gatewayCpuUs: round((gatewayCpu() * 1000) / messages),
      redisCpuUs: redisCpu && round((redisCpu() * 1000) / messages),
      redisRoundTrips: reads === undefined ? undefined : round(reads / messages, 1),
      load,
    };
  } finally {
    for (const p of procs) await p.stop();
    await hd.stop();
    await dir.remove();
  }
}

export async function drainBench(o: { messages: number; chats: number; workers: number[] }): Promise<DrainRun[]> {
  const runs: DrainRun[] = [];
  const dir = await tempDir();
  try {
    runs.push(await one('embedded store, one process', { kind: 'embedded', path: `${dir.path}/data` }, ['all'], o.messages, o.chats));
  } finally {
    await dir.remove();
  }
  const setups: [string, ('all' | 'ingress' | 'worker')[]][] = [
    ['Redis, one process (--role all)', ['all']],
    ...o.workers.map((n): [string, ('all' | 'ingress' | 'worker')[]] => [`Redis, 1 ingress + ${n} worker${n > 1 ? 's' : ''}`, ['ingress', ...Array<'worker'>(n).fill('worker')]]),
  ];
  for (const [setup, roles] of setups) {
    const redis = await startRedis({ appendfsync: 'everysec' });
    try {
      runs.push(await one(setup, { kind: 'redis', url: redis.url }, roles, o.messages, o.chats, redis.pid));
    } finally {
      await redis.close();
    }
  }
  return runs;
}

if (import.meta.main) {
  const messages = Number(process.argv[2] ?? 20_000);
  for (const r of await drainBench({ messages, chats: 2000, workers: (process.argv[3] ?? '1,2,4').split(',').map(Number) })) console.log(JSON.stringify(r));
}
