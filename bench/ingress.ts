import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { createServer, type Server } from 'node:net';
import { startRedis, type RedisServer } from '../test/fakes/redis-server.ts';
import { performance } from 'node:perf_hooks';
import { cpuMeter, gatewayYaml, loadAverage, paced, percentile, round, rssMb, spawnServer, spread, startGateway, tempDir, update, webhookHeaders, type Child } from './lib.ts';

/**
 * Ingress: acknowledged webhooks per second (saturated: 50 connections) and latency paced at
 * 1,000 requests per second (open loop: counted from each request's scheduled start), for three
 * anchors (a bare Fastify route, and one that inserts into SQLite per request or per group) and
 * the gateway on the embedded store and on Redis. Every request is a new Telegram message (a new
 * dedupe key), so every gateway ack is a durable write. Targets run in rounds (each round every
 * target once, each run on a fresh server and store), so the ratios compare runs taken under the
 * same conditions; the spread over the rounds is reported with the median.
 */

export const TARGETS = ['bare', 'sqlite', 'sqlite-group', 'embedded', 'redis'] as const;
export type Target = (typeof TARGETS)[number];

export const TARGET_NAMES: Record<Target, string> = {
  bare: 'bare Fastify route (ceiling)',
  sqlite: 'Fastify + SQLite insert per request (anchor)',
  'sqlite-group': 'Fastify + SQLite group commit (anchor)',
  embedded: 'gateway, embedded store',
  redis: 'gateway --role ingress, Redis (AOF everysec)',
};

export interface IngressRun {
  target: Target;
  round: number;
  /** Saturated: acks per second with 50 connections. */
  acks: number;
  /** Saturated: CPU time of the server process (all its threads; not Redis) per acknowledged request, µs. */
  cpuPerAck?: number;
  p50: number;
  p99: number;
  /** Paced at 1,000 requests per second, open loop. */
  pacedP50: number;
  pacedP99: number;
  non2xx: number;
  errors: number;
  /** Messages the gateway says it stored (switchboard_accepted_total) during the run, vs 2xx answers. */
  stored?: number;
  acked: number;
  load: string;
}

export interface IngressOptions {
  rounds: number;
  /** Seconds of saturated load, then of paced load, per run. */
  seconds: number;
  rate: number;
}

let serial = 0;
const body = () => update(serial++, 1000);

async function saturate(url: string, durationS: number) {
  return autocannon({
    url,
    connections: 50,
    duration: durationS,
    requests: [{ method: 'POST', path: '/webhooks/telegram', headers: webhookHeaders, setupRequest: (req) => ({ ...req, body: body() }) }],
  });
}

async function acceptedTotal(url: string): Promise<number | undefined> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text(), () => '');
  const lines = text.split('\n').filter((l) => l.startsWith('switchboard_accepted_total'));
  return lines.length === 0 ? undefined : lines.reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

export async function measure(target: Target, roundNo: number, server: Child, o: IngressOptions): Promise<IngressRun> {
  await saturate(server.url, 1); // warm-up (JIT, connections, caches)
  const load = loadAverage();
  const before = await acceptedTotal(server.url);
  const cpu = cpuMeter([server.pid]);
  const sat = await saturate(server.url, o.seconds);
  const cpuMs = cpu();
  const p = await paced(server.url, { rate: o.rate, seconds: o.seconds, body, headers: webhookHeaders });
  const after = await acceptedTotal(server.url);
  return {
    target,
    round: roundNo,
    acks: round(sat.requests.average),
    cpuPerAck: round((cpuMs * 1000) / Math.max(1, sat['2xx'])),
    p50: sat.latency.p50,
    p99: sat.latency.p99,
    pacedP50: round(percentile(p.latencies, 50), 1),
    pacedP99: round(percentile(p.latencies, 99), 1),
    non2xx: sat.non2xx + p.non2xx,
    errors: sat.errors + p.errors,
    stored: before === undefined || after === undefined ? undefined : after - before,
    acked: sat['2xx'] + p.latencies.length - p.non2xx,
    load,
  };
}

/** A helpdesk that accepts connections and never answers: the embedded worker parks on it. */
export async function blackHole(): Promise<{ url: string; close(): void }> {
  const server: Server = createServer(() => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, close: () => server.close() };
}

/**
 * The gateway as the ingress runs start it, alone, for the profiling scripts: a fresh store
 * (embedded: a temp directory, `--role all`, a delivery slot per conversation; Redis: its own
 * server with AOF everysec, `--role ingress`), its helpdesk a black hole.
 */
export async function profiledGateway(o: { store: string; repo?: string; nodeFlags: string[] }): Promise<{ gw: Child; dir: string; redisUrl?: string; stop(): Promise<void> }> {
  const hole = await blackHole();
  const dir = await tempDir();
  const redis = o.store === 'redis' ? await startRedis({ appendfsync: 'everysec' }) : undefined;
  const store = redis ? { kind: 'redis' as const, url: redis.url } : { kind: 'embedded' as const, path: `${dir.path}/data` };
  const gw = await startGateway({
    dir: dir.path,
    role: redis ? 'ingress' : 'all',
    ...(o.repo ? { repo: o.repo } : {}),
    nodeFlags: o.nodeFlags,
    yaml: gatewayYaml({ store, helpdeskUrl: hole.url, concurrency: redis ? 8 : 1000, timeoutMs: 600_000 }),
  });
  return {
    gw,
    dir: dir.path,
    ...(redis ? { redisUrl: redis.url } : {}),
    async stop() {
      await gw.stop();
      await redis?.close();
      await dir.remove();
      hole.close();
    },
  };
}

/** One run of one target on a fresh server (and a fresh store). */
async function runTarget(target: Target, roundNo: number, o: IngressOptions, hole: { url: string }): Promise<IngressRun> {
  if (target === 'bare' || target === 'sqlite' || target === 'sqlite-group') {
    const server = await spawnServer('anchor-server.ts', [target]);
    try {
      return await measure(target, roundNo, server, o);
    } finally {
      await server.stop();
    }
  }
  const dir = await tempDir();
  let redis: RedisServer | undefined;
  try {
    if (target === 'embedded') {
      // The one-process gateway; its worker is parked on a helpdesk that never answers, with a
      // delivery slot for each of the 1,000 conversations (no lane waits for a worker, so nothing
      // is classified): what is measured is the accept path (parse, verify, normalize, insert).
      const gw = await startGateway({ dir: dir.path, yaml: gatewayYaml({ store: { kind: 'embedded', path: `${dir.path}/data` }, helpdeskUrl: hole.url, concurrency: 1000, timeoutMs: 600_000 }) });
      try {
        return await measure(target, roundNo, gw, o);
      } finally {
        await gw.stop();
      }
    }
    // Redis: an ingress-only process (workers would run elsewhere), Redis with AOF everysec.
    redis = await startRedis({ appendfsync: 'everysec' });
    const gw = await startGateway({ dir: dir.path, role: 'ingress', yaml: gatewayYaml({ store: { kind: 'redis', url: redis.url }, helpdeskUrl: hole.url, concurrency: 8 }) });
    try {
      return await measure(target, roundNo, gw, o);
    } finally {
      await gw.stop();
    }
  } finally {
    await redis?.close();
    await dir.remove();
  }
}

export async function ingressBench(o: IngressOptions): Promise<IngressRun[]> {
  const hole = await blackHole();
  const runs: IngressRun[] = [];
  try {
    for (let r = 1; r <= o.rounds; r++) for (const target of TARGETS) runs.push(await runTarget(target, r, o, hole));
  } finally {
    hole.close();
  }
  return runs;
}

export interface BacklogRun {
  store: 'embedded' | 'redis';
  backlog: number;
  /** Median acks per second with the backlog queued. */
  acks: number;
  /** Median acks per second of a fresh, empty store, measured in the same rounds. */
  emptyAcks: number;
  /** acks / acks of the empty store, per round: the median, and the range over the rounds. */
  ratio: number;
  ratioMin: number;
  ratioMax: number;
  rounds: number;
  /** Redis: memory per queued message (used_memory growth since empty / queued), bytes. */
  bytesPerMessage?: number;
  /** Redis: append-only-file rewrites (a forked child writing the whole dataset) that ran during the filled store's rounds. */
  aofRewrites?: number;
  /** Embedded, the largest backlog: the filled gateway SIGKILLed and started again on its store. */
  restart?: { readyMs: number; queuedBefore: number; queuedAfter: number; rssMb: number };
  load: string;
}

/** A gateway on a store of its own (embedded: a fresh directory; Redis: a fresh server), its helpdesk a black hole. */
async function backlogGateway(kind: 'embedded' | 'redis', hole: { url: string }, repo?: string) {
  const dir = await tempDir();
  const redis = kind === 'redis' ? await startRedis({ appendfsync: 'everysec' }) : undefined;
  const store = redis ? { kind: 'redis' as const, url: redis.url } : { kind: 'embedded' as const, path: `${dir.path}/data` };
  const yaml = gatewayYaml({ store, helpdeskUrl: hole.url, concurrency: 1000, timeoutMs: 600_000 });
  const start = () => startGateway({ dir: dir.path, role: redis ? 'ingress' : 'all', yaml, ...(repo ? { repo } : {}) });
  let gw = await start();
  const client = redis && new Redis(redis.url);
  const queued = async () =>
    client ? client.zcard('bench:pending') : Number(/switchboard_queue_depth (\d+)/.exec(await fetch(`${gw.url}/metrics`).then((r) => r.text()))?.[1] ?? 0);
  return {
    get gw() {
      return gw;
    },
    queued,
    /** SIGKILL (nothing flushed, no goodbye), then the same command again: how long until it answers /healthz (polled every 100 ms). */
    async killAndRestart() {
      const before = await queued();
      await new Promise<void>((resolve) => {
        gw.proc.once('exit', () => resolve());
        gw.proc.kill('SIGKILL');
      });
      const t0 = performance.now();
      gw = await start();
      const readyMs = round(performance.now() - t0);
      return { readyMs, queuedBefore: before, queuedAfter: await queued(), rssMb: rssMb(gw.pid) };
    },
    usedMemory: async () => (client ? Number(/used_memory:(\d+)/.exec(await client.info('memory'))?.[1]) : 0),
    /** AOF rewrites finished, plus one if one is running now. */
    aofRewrites: async () => {
      if (!client) return 0;
      const info = await client.info('persistence');
      return Number(/aof_rewrites:(\d+)/.exec(info)?.[1] ?? 0) + Number(/aof_rewrite_in_progress:(\d+)/.exec(info)?.[1] ?? 0);
    },
    async stop() {
      client?.disconnect();
      await gw.stop();
      await redis?.close();
      await dir.remove();
    },
  };
}

/** Fills a gateway's queue to `size` with new messages (nothing is delivered: its helpdesk never answers). */
async function fillTo(full: { gw: Child; queued(): Promise<number> }, size: number): Promise<void> {
  const missing = size - (await full.queued());
  if (missing <= 0) return;
  const fill = await autocannon({
    url: full.gw.url,
    connections: 32,
    amount: missing,
    requests: [{ method: 'POST', path: '/webhooks/telegram', headers: webhookHeaders, setupRequest: (req) => ({ ...req, body: body() }) }],
  });
  if (fill.non2xx + fill.errors > 0) throw new Error(`filling to ${size}: ${fill.non2xx} non-2xx, ${fill.errors} errors`);
}

/**
 * The embedded backlog benchmark for two checkouts in the same rounds: both filled to `size`,
 * then each round measures, for each checkout in turn (the order alternating), a fresh empty
 * store and the filled one, so every pair of ratios shares a round and its load. Ends with a
 * restart after SIGKILL of each filled gateway.
 */
export async function backlogPairs(
  size: number,
  seconds: number,
  rounds: number,
  repos: Record<string, string | undefined>,
): Promise<{ name: string; ratios: number[]; cpuRatios: number[]; empties: number[]; fulls: number[]; loads: string[]; restart: BacklogRun['restart'] }[]> {
  const hole = await blackHole();
  const sides = Object.entries(repos).map(([name, repo]) => ({ name, repo, ratios: [] as number[], cpuRatios: [] as number[], empties: [] as number[], fulls: [] as number[], loads: [] as string[] }));
  const fulls: Awaited<ReturnType<typeof backlogGateway>>[] = [];
  try {
    for (const side of sides) {
      const full = await backlogGateway('embedded', hole, side.repo);
      fulls.push(full);
      await fillTo(full, size);
    }
    // Unmeasured: the side filled last would otherwise meet the kernel still writing its fill back in round 1.
    for (const full of fulls) await saturate(full.gw.url, 5);
    for (let r = 0; r < rounds; r++) {
      for (const i of r % 2 === 0 ? sides.keys() : [...sides.keys()].reverse()) {
        const side = sides[i]!;
        const load = loadAverage();
        const empty = await backlogGateway('embedded', hole, side.repo);
        // Acks a second, and the gateway process's CPU per ack (all its threads), µs: steadier than acks on a shared machine.
        const run = async (gw: Child) => {
          const cpu = cpuMeter([gw.pid]);
          const r = await saturate(gw.url, seconds);
          return { acks: r.requests.average, cpuUs: (cpu() * 1000) / Math.max(1, r['2xx']) };
        };
        let e: { acks: number; cpuUs: number };
        try {
          await saturate(empty.gw.url, 3);
          e = await run(empty.gw);
        } finally {
          await empty.stop();
        }
        await saturate(fulls[i]!.gw.url, 1);
        const f = await run(fulls[i]!.gw);
        side.empties.push(round(e.acks));
        side.fulls.push(round(f.acks));
        side.ratios.push(round(f.acks / e.acks, 2));
        side.cpuRatios.push(round(f.cpuUs / e.cpuUs, 2));
        side.loads.push(load);
        console.log(
          `round ${r + 1}, ${side.name}: empty ${round(e.acks)}/s (${round(e.cpuUs)} µs CPU per ack), filled ${round(f.acks)}/s (${round(f.cpuUs)} µs), ${round(f.acks / e.acks, 2)}x the acks, ${round(f.cpuUs / e.cpuUs, 2)}x the CPU per ack, load ${load}`,
        );
      }
    }
    const out = [];
    // One after the other: a restart is a burst of CPU, two at once would share the cores.
    for (const [i, side] of sides.entries()) out.push({ ...side, restart: await fulls[i]!.killAndRestart() });
    return out;
  } finally {
    for (const full of fulls) await full.stop();
    hole.close();
  }
}

/**
 * Ingress as the backlog grows: saturated acks with the queue filled to each size (nothing is
 * delivered: the helpdesk never answers; as in the ingress runs, a delivery slot per
 * conversation, so the store's size is what changes, not the work), against a fresh empty store
 * measured right before it, in rounds: on a shared machine one pair of runs minutes apart says
 * little, rounds of pairs say how far apart the two are.
 */
export async function backlogBench(
  sizes: number[],
  seconds: number,
  rounds = 3,
  o: { stores?: readonly ('embedded' | 'redis')[]; repo?: string } = {},
): Promise<BacklogRun[]> {
  const hole = await blackHole();
  const runs: BacklogRun[] = [];
  try {
    for (const kind of o.stores ?? (['embedded', 'redis'] as const)) {
      const full = await backlogGateway(kind, hole, o.repo);
      try {
        const memoryAtStart = await full.usedMemory();
        for (const size of sizes) {
          await fillTo(full, size);
          const load = loadAverage();
          const bytesPerMessage = kind === 'redis' ? round(((await full.usedMemory()) - memoryAtStart) / (await full.queued())) : undefined;
          const empties: number[] = [];
          const fulls: number[] = [];
          let aofRewrites = 0;
          for (let r = 0; r < rounds; r++) {
            const empty = await backlogGateway(kind, hole, o.repo);
            try {
              // A fresh process warms up longer: the filled one has been busy since it started.
              await saturate(empty.gw.url, 3);
              empties.push((await saturate(empty.gw.url, seconds)).requests.average);
            } finally {
              await empty.stop();
            }
            await saturate(full.gw.url, 1);
            const rewritesBefore = await full.aofRewrites();
            fulls.push((await saturate(full.gw.url, seconds)).requests.average);
            aofRewrites += (await full.aofRewrites()) - rewritesBefore;
          }
          const ratios = fulls.map((f, i) => f / empties[i]!);
          const r = spread(ratios);
          runs.push({
            store: kind,
            backlog: size,
            acks: round(spread(fulls).median),
            emptyAcks: round(spread(empties).median),
            ratio: round(r.median, 2),
            ratioMin: round(r.min, 2),
            ratioMax: round(r.max, 2),
            rounds,
            bytesPerMessage,
            ...(kind === 'redis' ? { aofRewrites } : {}),
            load,
          });
        }
        // Restart after a crash with the largest backlog queued: ready how soon, with nothing lost.
        const last = runs[runs.length - 1];
        if (kind === 'embedded' && last) last.restart = await full.killAndRestart();
      } finally {
        await full.stop();
      }
    }
  } finally {
    hole.close();
  }
  return runs;
}
