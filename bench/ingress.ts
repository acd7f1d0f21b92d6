import autocannon from 'autocannon';
import { Redis } from 'ioredis';
import { createServer, type Server } from 'node:net';
import { startRedis } from '../test/fakes/redis-server.ts';
import { gatewayYaml, round, spawnServer, startGateway, tempDir, update, webhookHeaders, type Child } from './lib.ts';

/**
 * Ingress: acknowledged webhooks per second and ack latency, for a bare Fastify route (the
 * ceiling), the gateway on the embedded store and the gateway on Redis. Every request is a
 * new Telegram message (a new dedupe key), so every ack is a durable write.
 */

export interface IngressRun {
  target: string;
  /** Saturated: as fast as 50 connections can go. */
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  /** Paced at 1,000 requests per second. */
  pacedP50: number;
  pacedP99: number;
  /** Messages the gateway says it stored (switchboard_accepted_total), vs 2xx answers. */
  stored?: number;
  acked: number;
  /** Redis memory per waiting message (used_memory growth / messages stored), bytes. */
  redisBytesPerMessage?: number;
}

let serial = 0;

async function load(url: string, opts: { durationS: number; connections: number; rate?: number }) {
  return autocannon({
    url,
    connections: opts.connections,
    duration: opts.durationS,
    overallRate: opts.rate,
    requests: [{ method: 'POST', path: '/webhooks/telegram', headers: webhookHeaders, setupRequest: (req) => ({ ...req, body: update(serial++, 1000) }) }],
  });
}

async function acceptedTotal(url: string): Promise<number | undefined> {
  const text = await fetch(`${url}/metrics`).then((r) => r.text(), () => '');
  const lines = text.split('\n').filter((l) => l.startsWith('switchboard_accepted_total'));
  return lines.length === 0 ? undefined : lines.reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

async function measure(target: string, server: Child, durationS: number): Promise<IngressRun> {
  await load(server.url, { durationS: 2, connections: 50 }); // warm-up (JIT, connections, caches)
  const before = await acceptedTotal(server.url);
  const sat = await load(server.url, { durationS, connections: 50 });
  const paced = await load(server.url, { durationS, connections: 20, rate: 1000 });
  const after = await acceptedTotal(server.url);
  return {
    target,
    rps: round(sat.requests.average),
    p50: sat.latency.p50,
    p99: sat.latency.p99,
    non2xx: sat.non2xx + paced.non2xx,
    errors: sat.errors + paced.errors,
    pacedP50: paced.latency.p50,
    pacedP99: paced.latency.p99,
    stored: before === undefined || after === undefined ? undefined : after - before,
    acked: sat['2xx'] + paced['2xx'],
  };
}

/** A helpdesk that accepts connections and never answers: the embedded worker parks on it. */
async function blackHole(): Promise<{ url: string; close(): void }> {
  const server: Server = createServer(() => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, close: () => server.close() };
}

export async function ingressBench(durationS: number): Promise<IngressRun[]> {
  const runs: IngressRun[] = [];

  const bare = await spawnServer('bare-server.ts');
  try {
    runs.push(await measure('bare Fastify route (ceiling)', bare, durationS));
  } finally {
    await bare.stop();
  }

  // Embedded: the one-process gateway; its worker is parked on a helpdesk that never answers,
  // so what is measured is the accept path (parse, verify, normalize, group-committed insert).
  const hole = await blackHole();
  const dir = await tempDir();
  try {
    const gw = await startGateway({ dir: dir.path, yaml: gatewayYaml({ store: { kind: 'embedded', path: `${dir.path}/data` }, helpdeskUrl: hole.url, concurrency: 1, timeoutMs: 600_000 }) });
    try {
      runs.push(await measure('gateway, embedded store', gw, durationS));
    } finally {
      await gw.stop();
    }
  } finally {
    hole.close();
    await dir.remove();
  }

  // Redis: an ingress-only process (workers would run elsewhere), Redis with AOF everysec.
  const redis = await startRedis({ appendfsync: 'everysec' });
  const dir2 = await tempDir();
  try {
    const gw = await startGateway({ dir: dir2.path, role: 'ingress', yaml: gatewayYaml({ store: { kind: 'redis', url: redis.url }, helpdeskUrl: 'http://127.0.0.1:9', concurrency: 8 }) });
    const client = new Redis(redis.url);
    try {
      const usedMemory = async () => Number(/used_memory:(\d+)/.exec(await client.info('memory'))?.[1]);
      const before = await usedMemory();
      const run = await measure('gateway --role ingress, Redis (AOF everysec)', gw, durationS);
      const total = await client.zcard('bench:pending');
      run.redisBytesPerMessage = total > 0 ? Math.round(((await usedMemory()) - before) / total) : undefined;
      runs.push(run);
    } finally {
      client.disconnect();
      await gw.stop();
    }
  } finally {
    await redis.close();
    await dir2.remove();
  }
  return runs;
}
