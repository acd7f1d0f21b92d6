import autocannon from 'autocannon';
import { mkdtemp, readdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startRedis } from '../test/fakes/redis-server.ts';
import { blackHole } from './ingress.ts';
import { gatewayYaml, loadAverage, startGateway, tempDir, update, webhookHeaders } from './lib.ts';

/**
 * Where the accept path spends its CPU: the real gateway process (`switchboard start`, as in the
 * ingress benchmark) under `node --cpu-prof`, saturated with new Telegram messages from 50
 * connections; prints the functions with the most CPU of their own and the most in total
 * while under load (startup and idle left out), and where the .cpuprofile is (open it in Chrome
 * DevTools).
 *
 *   node bench/profile-accept.ts [--store embedded|redis] [--seconds 8] [--top 40]
 */

const { values } = parseArgs({
  options: { store: { type: 'string', default: 'embedded' }, seconds: { type: 'string', default: '8' }, top: { type: 'string', default: '40' } },
});
const out = await mkdtemp(join(tmpdir(), 'switchboard-profile-'));
const hole = await blackHole();
const dir = await tempDir();
const redis = values.store === 'redis' ? await startRedis({ appendfsync: 'everysec' }) : undefined;
const store = redis ? { kind: 'redis' as const, url: redis.url } : { kind: 'embedded' as const, path: `${dir.path}/data` };
const gw = await startGateway({
  dir: dir.path,
  role: redis ? 'ingress' : 'all',
  nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${out}`],
  yaml: gatewayYaml({ store, helpdeskUrl: hole.url, concurrency: 1000, timeoutMs: 600_000 }),
});
let n = 0;
const saturate = (seconds: number) =>
  autocannon({
    url: gw.url,
    connections: 50,
    duration: seconds,
    requests: [{ method: 'POST', path: '/webhooks/telegram', headers: webhookHeaders, setupRequest: (req) => ({ ...req, body: update(n++, 1000) }) }],
  });
try {
  await saturate(1);
  console.log(`load average ${loadAverage()}`);
  const r = await saturate(Number(values.seconds));
  console.log(`acks/s ${Math.round(r.requests.average)}, non-2xx ${r.non2xx}`);
} finally {
  await gw.stop();
  await redis?.close();
  await dir.remove();
  hole.close();
}

// The main thread's profile is the largest (the WAL checkpoint thread writes its own).
const files = await Promise.all((await readdir(out)).filter((f) => f.endsWith('.cpuprofile')).map(async (f) => ({ f: join(out, f), size: (await stat(join(out, f))).size })));
const main = files.sort((a, b) => b.size - a.size)[0]!.f;
summarize(JSON.parse(await readFile(main, 'utf8')) as Profile, Number(values.top), Number(values.seconds));
console.log(`\nprofile: ${main}`);

interface Profile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  samples: number[];
  timeDeltas: number[];
}

/** Only the samples of the measured load: the busiest `seconds` of the profile (startup and shutdown left out). */
function summarize(p: Profile, top: number, seconds: number): void {
  const byId = new Map(p.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of p.nodes) for (const c of node.children ?? []) parent.set(c, node.id);
  const label = (id: number) => {
    const f = byId.get(id)!.callFrame;
    return `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules\/)?/, '')}:${f.lineNumber + 1}`;
  };
  const idle = new Set(p.nodes.filter((node) => node.callFrame.functionName === '(idle)').map((node) => node.id));
  // Busy time per 100 ms, then the window of `seconds` with the most of it.
  const at: number[] = [];
  let clock = 0;
  for (const d of p.timeDeltas) at.push((clock += d));
  const bucket = (i: number) => Math.floor(at[i]! / 100_000);
  const busyIn: number[] = [];
  p.samples.forEach((id, i) => {
    if (!idle.has(id)) busyIn[bucket(i)] = (busyIn[bucket(i)] ?? 0) + (p.timeDeltas[i] ?? 0);
  });
  const width = seconds * 10;
  let best = 0;
  let bestSum = -1;
  for (let b = 0; b < busyIn.length; b++) {
    let sum = 0;
    for (let k = b; k < b + width && k < busyIn.length; k++) sum += busyIn[k] ?? 0;
    if (sum > bestSum) [best, bestSum] = [b, sum];
  }
  const time = new Map<number, number>();
  p.samples.forEach((id, i) => {
    if (bucket(i) >= best && bucket(i) < best + width) time.set(id, (time.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  });
  const own = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let busy = 0;
  for (const node of p.nodes) {
    const t = time.get(node.id) ?? 0;
    if (t === 0 || label(node.id).startsWith('(idle)')) continue;
    busy += t;
    own.set(label(node.id), (own.get(label(node.id)) ?? 0) + t);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const l = label(id);
      if (!seen.has(l)) inclusive.set(l, (inclusive.get(l) ?? 0) + t);
      seen.add(l);
    }
  }
  const show = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([l, t]) => `${((100 * t) / busy).toFixed(1).padStart(6)} %  ${l}`).join('\n');
  console.log(`\nCPU time (not idle): ${(busy / 1e6).toFixed(1)} s\n\nown time:\n${show(own)}\n\ntotal time (with callees):\n${show(inclusive)}`);
}
