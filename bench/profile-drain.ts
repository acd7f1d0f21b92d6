import autocannon from 'autocannon';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { startRedis } from '../test/fakes/redis-server.ts';
import { cpuMeter, gatewayYaml, helpdeskStats, loadAverage, sleep, spawnServer, startGateway, tempDir, update, webhookHeaders, type Child } from './lib.ts';

/**
 * What a Redis worker sends Redis per delivered message, and where its CPU goes: a backlog is
 * taken in by an ingress process, then one `--role all` process (under `node --cpu-prof` with
 * --prof) drains it to a helpdesk that answers at once. Prints per delivered message: Redis round
 * trips (reads Redis processed: a command or a pipeline of them), commands, bytes in and out, and
 * every command and script by the Redis time it took (SLOWLOG with a threshold of 0; a script is
 * named by its sha and first argument, with the commands it ran inside), with the gateway's and
 * Redis' CPU. The slow log's own cost raises Redis' CPU here; bench/drain.ts measures it without.
 *
 *   node bench/profile-drain.ts [--messages 5000] [--prof]
 */

const { values } = parseArgs({ options: { messages: { type: 'string', default: '5000' }, prof: { type: 'boolean', default: false } } });
const messages = Number(values.messages);
const profDir = values.prof ? await mkdtemp(join(tmpdir(), 'switchboard-profile-')) : undefined;
const redis = await startRedis({ appendfsync: 'everysec' });
const hd = await spawnServer('fake-helpdesk.ts');
const dir = await tempDir();
const r = new Redis(redis.url);
let gw: Child | undefined;
try {
  await fetch(`${hd.url}/bench/hold`, { method: 'POST' });
  const yaml = gatewayYaml({ store: { kind: 'redis', url: redis.url }, helpdeskUrl: hd.url, concurrency: 32, timeoutMs: 600_000 });
  const ingress = await startGateway({ dir: dir.path, yaml, role: 'ingress', name: 'ingress' });
  let serial = 1;
  const sent = await autocannon({
    url: ingress.url,
    connections: 32,
    amount: messages,
    requests: [{ method: 'POST', path: '/webhooks/telegram', headers: webhookHeaders, setupRequest: (req) => ({ ...req, body: update(serial++, 2000) }) }],
  });
  await ingress.stop();
  if (sent.non2xx + sent.errors > 0) throw new Error(`filling the backlog: ${sent.non2xx} non-2xx, ${sent.errors} errors`);
  gw = await startGateway({ dir: dir.path, yaml, role: 'all', nodeFlags: profDir ? ['--cpu-prof', `--cpu-prof-dir=${profDir}`] : [] });
  await sleep(500);
  await r.config('RESETSTAT');
  await r.config('SET', 'slowlog-log-slower-than', '0');
  await r.config('SET', 'slowlog-max-len', String(messages * 200));
  await r.slowlog('RESET');
  const gatewayCpu = cpuMeter([gw.pid]);
  const redisCpu = cpuMeter([redis.pid!]);
  const t0 = Date.now();
  await fetch(`${hd.url}/bench/release`, { method: 'POST' });
  while ((await helpdeskStats(hd)).comments < messages) await sleep(50);
  const seconds = (Date.now() - t0) / 1000;
  const per = (n: number, digits = 1) => +(n / messages).toFixed(digits);
  const stats = await r.info('stats');
  const stat = (name: string) => Number(new RegExp(`${name}:(\\d+)`).exec(stats)?.[1] ?? NaN);
  let commands = 0;
  for (const m of (await r.info('commandstats')).matchAll(/cmdstat_\S+?:calls=(\d+)/g)) commands += Number(m[1]);
  const by = new Map<string, { calls: number; us: number; inner: Map<string, number> }>();
  // Oldest first: the commands a script ran (client '?:0') come just before the script itself.
  let inner: string[] = [];
  for (const [, , us, args, client] of ((await r.slowlog('GET', -1)) as [number, number, number, string[], string][]).reverse()) {
    if (client === '?:0') {
      inner.push(args[0]!.toLowerCase());
      continue;
    }
    const name = args[0]!.toLowerCase() === 'evalsha' ? `evalsha ${args[1]!.slice(0, 8)} ${args[3] ?? ''}` : args[0]!.toLowerCase();
    const e = by.get(name) ?? { calls: 0, us: 0, inner: new Map<string, number>() };
    e.calls++;
    e.us += us;
    for (const c of inner) e.inner.set(c, (e.inner.get(c) ?? 0) + 1);
    inner = [];
    by.set(name, e);
  }
  console.log(JSON.stringify({
    messages,
    perSecond: Math.round(messages / seconds),
    gatewayCpuUs: Math.round((gatewayCpu() * 1000) / messages),
    redisCpuUs: Math.round((redisCpu() * 1000) / messages),
    load: loadAverage(),
    roundTrips: per(stat('total_reads_processed')),
    commands: per(commands),
    bytesIn: per(stat('total_net_input_bytes'), 0),
    bytesOut: per(stat('total_net_output_bytes'), 0),
  }));
  console.log('per delivered message: calls, Redis µs');
  for (const [name, e] of [...by].sort((a, b) => b[1].us - a[1].us).slice(0, 30)) {
    const commands = [...e.inner].sort((a, b) => b[1] - a[1]);
    const total = commands.reduce((sum, [, n]) => sum + n, 0);
    console.log(`${per(e.calls, 2).toString().padStart(6)} ${per(e.us).toString().padStart(7)}  ${name}${total > 0 ? `  (${per(total, 1)} commands: ${commands.map(([c, n]) => `${c} ${per(n, 2)}`).join(', ')})` : ''}`);
  }
  if (profDir) console.log(`CPU profile of the draining process: ${profDir} (open it in Chrome DevTools)`);
} finally {
  r.disconnect();
  await gw?.stop();
  await hd.stop();
  await dir.remove();
  await redis.close();
}
