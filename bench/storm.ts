import autocannon from 'autocannon';
import { startRedis } from '../test/fakes/redis-server.ts';
import { cpuMeter, gatewayYaml, helpdeskStats, loadAverage, round, sleep, spawnServer, startGateway, tempDir, update, webhookHeaders, type Child, type Store } from './lib.ts';

/**
 * Delivery during an ingress storm. One gateway process (both runtimes), a helpdesk that
 * answers at once. First its unloaded delivery rate: a backlog taken in while the helpdesk
 * held every request, then delivered with nothing else going on. Then a storm: webhooks as
 * fast as 50 connections go for `seconds`, while the helpdesk answers at once; counted are the
 * acks and the messages the helpdesk received during the storm, and after it.
 * Target: deliveries during the storm at least half the unloaded rate.
 */

export interface StormRun {
  setup: string;
  /** Messages per second delivered with no ingress. */
  unloaded: number;
  /** Acknowledged webhooks per second during the storm. */
  acks: number;
  /** Messages per second the helpdesk received during the storm. */
  during: number;
  /** … and in the same length of time after it. */
  after: number;
  /** during / unloaded */
  share: number;
  /**
   * The same share per second of the gateway's own CPU time (deliveries per CPU-second in the
   * storm / unloaded): what part of the process the deliveries kept, however busy the machine was.
   */
  cpuShare: number;
  load: string;
}


const comments = (hd: Child): Promise<number> => helpdeskStats(hd).then((s) => s.comments);
let serial = 50_000_000;

function webhooks(url: string, o: { connections: number; amount?: number; duration?: number }) {
  return autocannon({
    url,
    connections: o.connections,
    ...(o.amount === undefined ? { duration: o.duration } : { amount: o.amount }),
    requests: [{ method: 'POST', path: '/webhooks/telegram', headers: webhookHeaders, setupRequest: (req) => ({ ...req, body: update(serial++, 2000) }) }],
  });
}

async function one(setup: string, store: Store, seconds: number, backlog: number, redisPid?: number): Promise<StormRun> {
  const hd = await spawnServer('fake-helpdesk.ts');
  const dir = await tempDir();
  try {
    const gw = await startGateway({ dir: dir.path, yaml: gatewayYaml({ store, helpdeskUrl: hd.url, concurrency: 8, timeoutMs: 600_000 }) });
    try {
      // Unloaded: a backlog delivered with nothing else going on (the first messages of each
      // conversation, which cost two requests, are delivered before the clock starts).
      await webhooks(gw.url, { connections: 16, amount: 2000 });
      while ((await comments(hd)) < 2000) await sleep(50);
      await fetch(`${hd.url}/bench/hold`, { method: 'POST' });
      await webhooks(gw.url, { connections: 16, amount: backlog });
      const pids = redisPid === undefined ? [gw.pid] : [gw.pid, redisPid];
      const c0 = await comments(hd);
      const t0 = Date.now();
      const cpu0 = cpuMeter(pids);
      await fetch(`${hd.url}/bench/release`, { method: 'POST' });
      while ((await comments(hd)) < c0 + backlog) await sleep(20);
      const unloaded = backlog / ((Date.now() - t0) / 1000);
      const unloadedPerCpu = backlog / Math.max(1, cpu0());

      // The storm, and as long again after it.
      const load = loadAverage();
      const c1 = await comments(hd);
      const t1 = Date.now();
      const cpu1 = cpuMeter(pids);
      const storm = await webhooks(gw.url, { connections: 50, duration: seconds });
      const t2 = Date.now();
      const c2 = await comments(hd);
      const stormPerCpu = (c2 - c1) / Math.max(1, cpu1());
      await sleep(seconds * 1000);
      const c3 = await comments(hd);
      const during = (c2 - c1) / ((t2 - t1) / 1000);
      return {
        setup,
        unloaded: round(unloaded),
        acks: round(storm['2xx'] / ((t2 - t1) / 1000)),
        during: round(during),
        after: round((c3 - c2) / seconds),
        share: round(during / unloaded, 2),
        cpuShare: round(stormPerCpu / unloadedPerCpu, 2),
        load,
      };
    } finally {
      await gw.stop();
    }
  } finally {
    await hd.stop();
    await dir.remove();
  }
}

export async function stormBench(o: { seconds: number; backlog: number }): Promise<StormRun[]> {
  const runs: StormRun[] = [];
  const dir = await tempDir();
  try {
    runs.push(await one('embedded store, one process', { kind: 'embedded', path: `${dir.path}/data` }, o.seconds, o.backlog));
  } finally {
    await dir.remove();
  }
  const redis = await startRedis({ appendfsync: 'everysec' });
  try {
    runs.push(await one('Redis, one process (--role all)', { kind: 'redis', url: redis.url }, o.seconds, o.backlog, redis.pid));
  } finally {
    await redis.close();
  }
  return runs;
}

if (import.meta.main) {
  const only = process.argv[4];
  if (only) {
    const dir = await tempDir();
    const redis = only === 'redis' ? await startRedis({ appendfsync: 'everysec' }) : undefined;
    const store: Store = redis ? { kind: 'redis', url: redis.url } : { kind: 'embedded', path: `${dir.path}/data` };
    console.log(JSON.stringify(await one(only, store, Number(process.argv[2] ?? 10), Number(process.argv[3] ?? 10_000), redis?.pid)));
    await redis?.close();
    await dir.remove();
  } else for (const r of await stormBench({ seconds: Number(process.argv[2] ?? 10), backlog: Number(process.argv[3] ?? 10_000) })) console.log(JSON.stringify(r));
}
