import { parseArgs } from 'node:util';
import { startRedis } from '../test/fakes/redis-server.ts';
import { backlogPairs, blackHole, measure, type IngressRun } from './ingress.ts';
import { gatewayYaml, REPO, spawnServer, spread, startGateway, tempDir } from './lib.ts';

/**
 * The accept path of two checkouts side by side, in the same rounds: the ingress benchmark's
 * measurement (saturated acks with the server's CPU per ack, paced p99) of the three anchors,
 * then the gateway from another checkout ("before") and from this one ("after"), on the embedded
 * store and on Redis. Prints a Markdown table (medians, ranges over the rounds; ratios taken round
 * by round against the anchors of the same round).
 *
 *   git worktree add --detach /tmp/before <commit> && ln -s "$PWD/node_modules" /tmp/before/
 *   node bench/compare-accept.ts --before /tmp/before [--rounds 4] [--seconds 6]
 *
 * `--backlog 300000` instead compares the embedded store's ingress with that many messages
 * queued against a fresh empty store (the backlog benchmark, bench/ingress.ts), before and after
 * in the same rounds (backlogPairs).
 */

const { values } = parseArgs({
  options: { before: { type: 'string' }, rounds: { type: 'string', default: '4' }, seconds: { type: 'string', default: '6' }, backlog: { type: 'string' } },
});
if (!values.before) throw new Error('--before <checkout> is required');
if (values.backlog) {
  const sides = await backlogPairs(Number(values.backlog), Number(values.seconds), Number(values.rounds), { before: values.before, after: undefined });
  for (const s of sides) {
    const r = spread(s.ratios);
    const c = spread(s.cpuRatios);
    console.log(
      `${s.name}: acks filled/empty ${r.median.toFixed(2)}x (${r.min.toFixed(2)}-${r.max.toFixed(2)}), CPU per ack filled/empty ${c.median.toFixed(2)}x (${c.min.toFixed(2)}-${c.max.toFixed(2)}) over ${s.ratios.length} rounds; restart ${JSON.stringify(s.restart)}`,
    );
  }
  process.exit(0);
}
const repos: Record<string, string> = { before: values.before, after: REPO };
const o = { rounds: Number(values.rounds), seconds: Number(values.seconds), rate: 1000 };
const hole = await blackHole();
const runs: (IngressRun & { name: string })[] = [];
try {
  for (let round = 1; round <= o.rounds; round++) {
    for (const anchor of ['bare', 'sqlite', 'sqlite-group'] as const) {
      const server = await spawnServer('anchor-server.ts', [anchor]);
      try {
        runs.push({ ...(await measure(anchor, round, server, o)), name: anchor });
      } finally {
        await server.stop();
      }
    }
    for (const store of ['embedded', 'redis'] as const) {
      for (const which of ['before', 'after']) {
        const dir = await tempDir();
        const redis = store === 'redis' ? await startRedis({ appendfsync: 'everysec' }) : undefined;
        try {
          const yaml = gatewayYaml({
            store: redis ? { kind: 'redis', url: redis.url } : { kind: 'embedded', path: `${dir.path}/data` },
            helpdeskUrl: hole.url,
            concurrency: redis ? 8 : 1000,
            timeoutMs: 600_000,
          });
          const gw = await startGateway({ dir: dir.path, yaml, role: redis ? 'ingress' : 'all', repo: repos[which] });
          try {
            runs.push({ ...(await measure(store, round, gw, o)), name: `gateway, ${store}, ${which}` });
          } finally {
            await gw.stop();
          }
        } finally {
          await redis?.close();
          await dir.remove();
        }
      }
    }
    console.error(`[compare] round ${round} of ${o.rounds} done`);
  }
} finally {
  hole.close();
}

const of = (name: string, round: number) => runs.find((x) => x.name === name && x.round === round)!;
const show = (v: number[], digits: number, unit = '') => {
  const s = spread(v);
  const f = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
  return `${f(s.median)}${unit} (${f(s.min)}–${f(s.max)})`;
};
console.log('| target | acks/s | CPU µs per ack | acks vs SQLite group commit | paced p99 ms | p99 vs per-request SQLite | load (1 min) |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const name of [...new Set(runs.map((x) => x.name))]) {
  const mine = runs.filter((x) => x.name === name);
  const rounds = mine.map((x) => x.round);
  console.log(
    `| ${name} | ${show(mine.map((x) => x.acks), 0)} | ${show(mine.map((x) => x.cpuPerAck ?? NaN), 0)} | ` +
      `${show(rounds.map((r) => of(name, r).acks / of('sqlite-group', r).acks), 2, '×')} | ${show(mine.map((x) => x.pacedP99), 1)} | ` +
      `${show(rounds.map((r) => of(name, r).pacedP99 / of('sqlite', r).pacedP99), 2, '×')} | ${mine.map((x) => x.load.split(' / ')[0]).join(', ')} |`,
  );
}
