import autocannon from 'autocannon';
import { startRedis } from '../test/fakes/redis-server.ts';
import { cpuMeter, gatewayYaml, helpdeskStats, loadAverage, round, sleep, spawnServer, startGateway, tempDir, update, webhookHeaders, type Child, type Store } from './lib.ts';

/**
 * Delivery during an ingress storm. One gateway process (both runtimes), and on Redis also an
 * ingress process with a worker process beside it; a helpdesk that answers at once. First its unloaded delivery rate: a backlog taken in while the helpdesk
 * held every request, then delivered with nothing else going on. Then a storm: webhooks as
 * fast as 50 connections go for `seconds`, while the helpdesk answers at once; counted are the
 * acks and the messages the helpdesk received during the storm, and after it.
 * Target: deliveries during the storm at least half the unloaded rate.
 */

export interface StormRun {
  setup: string;
  round: number;
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

type Roles = ['all'] | ['ingress', 'worker'];

async function one(setup: string, roundNo: number, store: Store, roles: Roles, seconds: number, backlog: number, redisPid?: number, repo?: string): Promise<StormRun> {
  const hd = await spawnServer('fake-helpdesk.ts');
  const dir = await tempDir();
  try {
    const yaml = gatewayYaml({ store, helpdeskUrl: hd.url, concurrency: 8, timeoutMs: 600_000 });
    const procs: Child[] = [];
    try {
      for (const role of roles) procs.push(await startGateway({ dir: dir.path, yaml, role, name: role, repo }));
      // Webhooks go to the first process (the one with the ingress role).
      const gw = procs[0]!;
      // Unloaded: a backlog delivered with nothing else going on (the first messages of each
      // conversation, which cost two requests, are delivered before the clock starts).
      await webhooks(gw.url, { connections: 16, amount: 2000 });
      while ((await comments(hd)) < 2000) await sleep(50);
      await fetch(`${hd.url}/bench/hold`, { method: 'POST' });
      await webhooks(gw.url, { connections: 16, amount: backlog });
      const pids = [...procs.map((p) => p.pid), ...(redisPid === undefined ? [] : [redisPid])];
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
        round: roundNo,
        unloaded: round(unloaded),
        acks: round(storm['2xx'] / ((t2 - t1) / 1000)),
        during: round(during),
        after: round((c3 - c2) / seconds),
        share: round(during / unloaded, 2),
        cpuShare: round(stormPerCpu / unloadedPerCpu, 2),
        load,
      };
    } finally {
      for (const p of procs) await p.stop();
    }
  } finally {
    await hd.stop();
    await dir.remove();
  }
}

const SETUPS: { setup: string; store: 'embedded' | 'redis'; roles: Roles }[] = [
  { setup: 'embedded store, one process', store: 'embedded', roles: ['all'] },
  { setup: 'Redis, one process (--role all)', store: 'redis', roles: ['all'] },
  { setup: 'Redis, ingress + worker processes', store: 'redis', roles: ['ingress', 'worker'] },
];

/**
 * Each setup `rounds` times, the setups taking turns (so a busy spell of the machine hits all of
 * them); `only`: one store (`embedded`, `redis`), `one` for the one-process setups,
 * `redis-one`, or `split` for the ingress + worker processes. With `base` (another checkout of
 * Switchboard) each setup also runs on it, right before, for a before/after in the same run.
 */
export async function stormBench(o: { seconds: number; backlog: number; rounds: number; only?: string; base?: string }): Promise<StormRun[]> {
  const runs: StormRun[] = [];
  const picked = SETUPS.filter(
    (x) => o.only === undefined || x.store === o.only || ((o.only === 'one' || o.only === `${x.store}-one`) && x.roles[0] === 'all') || (o.only === 'split' && x.roles[0] === 'ingress'),
  );
  const versions: { label: string; repo?: string }[] = o.base ? [{ label: 'before: ', repo: o.base }, { label: '' }] : [{ label: '' }];
  for (let n = 1; n <= o.rounds; n++) {
    for (const s of picked) {
      for (const v of versions) {
        const dir = await tempDir();
        const redis = s.store === 'redis' ? await startRedis({ appendfsync: 'everysec' }) : undefined;
        try {
          const store: Store = redis ? { kind: 'redis', url: redis.url } : { kind: 'embedded', path: `${dir.path}/data` };
          const run = await one(v.label + s.setup, n, store, s.roles, o.seconds, o.backlog, redis?.pid, v.repo);
          console.error(`[storm] ${JSON.stringify(run)}`);
          runs.push(run);
        } finally {
          await redis?.close();
          await dir.remove();
        }
      }
    }
  }
  return runs;
}

// node bench/storm.ts [seconds] [backlog] [rounds] [all|embedded|redis|one|redis-one|split] [base checkout]
if (import.meta.main) {
  const [seconds, backlog, rounds, only, base] = process.argv.slice(2);
  await stormBench({ seconds: Number(seconds ?? 10), backlog: Number(backlog ?? 10_000), rounds: Number(rounds ?? 1), only: only === 'all' ? undefined : only, base });
}
