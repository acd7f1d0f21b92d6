import autocannon from 'autocannon';
import { mkdtemp, readdir, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { profiledGateway } from './ingress.ts';
import { loadAverage, update, webhookHeaders } from './lib.ts';

/**
 * Where the accept path spends its CPU: the real gateway process (`switchboard start`, as in the
 * ingress benchmark) under `node --cpu-prof`, saturated with new Telegram messages from 50
 * connections; prints the functions with the most CPU of their own and the most in total
 * while under load (startup and idle left out), and where the .cpuprofile is (open it in Chrome
 * DevTools).
 *
 *   node bench/profile-accept.ts [--store embedded|redis] [--seconds 8] [--top 40] [--repo <checkout>]
 *
 * `--repo` profiles another checkout's gateway (a before/after pair, as in compare-accept.ts).
 * The table of parts sums each sample under the innermost frame that names a part (PARTS).
 */

const { values } = parseArgs({
  options: { store: { type: 'string', default: 'embedded' }, seconds: { type: 'string', default: '8' }, top: { type: 'string', default: '40' }, repo: { type: 'string' } },
});
const out = await mkdtemp(join(tmpdir(), 'switchboard-profile-'));
const { gw, stop } = await profiledGateway({
  store: values.store,
  ...(values.repo ? { repo: values.repo } : {}),
  nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${out}`],
});
let n = 0;
let acked = 0;
/** The measured load's start and end on the profile's clock (both CLOCK_MONOTONIC, µs). */
const window = { from: 0, to: 0 };
const micros = () => Number(process.hrtime.bigint() / 1000n);
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
  window.from = micros();
  const r = await saturate(Number(values.seconds));
  window.to = micros();
  acked = r['2xx'];
  console.log(`acks/s ${Math.round(r.requests.average)}, non-2xx ${r.non2xx}, load average after ${loadAverage()}`);
} finally {
  await stop();
}

interface Profile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/**
 * Where an ack's CPU goes, by part of the accept path: a sample belongs to the innermost frame of
 * its stack that one of these names (checked in this order for each frame, leaf first), so the
 * socket write under Fastify's reply counts as the answer and JSON.stringify in the store's
 * insert as the store. Anything unnamed is "other".
 */
const PARTS: [part: string, test: (fn: string, url: string) => boolean][] = [
  ['garbage collection', (fn) => fn === '(garbage collector)'],
  ['store write + commit (dedupe claim, job row, lane book, flood meter, BEGIN/COMMIT)', (_f, u) => /runtime\/(embedded\/(store|lane-book|database)|redis\/)|runtime\/(flood|classes)\.ts|ioredis|redis-parser|cluster-key-slot/.test(u)],
  ['conversation log (record accepted, search terms)', (fn, u) => /embedded\/conversations|conversation-writes|core\/history|runtime\/activity/.test(u) || fn === 'recordAccepted'],
  ['metrics (prom-client)', (_f, u) => /prom-client|runtime\/metrics\.ts/.test(u)],
  ['logging (pino)', (_f, u) => /pino|sonic-boom|runtime\/log\.ts/.test(u)],
  ['validation of the update and of the normalized message', (_f, u) => /quick-parse|\/zod\/|telegram\/update\.ts/.test(u)],
  ['normalization', (_f, u) => /telegram\/normalize\.ts|core\/message\.ts/.test(u)],
  ['card masking', (_f, u) => /core\/privacy|core\/mask\//.test(u)],
  ['ids and dedupe key', (_f, u) => /core\/ids\.ts|\/ulid\/|core\/jobs\.ts|core\/random\.ts/.test(u)],
  ['body parse (JSON, null-prototype, depth limit)', (fn, u) => /core\/safe-parse/.test(u) || (fn === 'parseBody' && /http\/inbound/.test(u))],
  ['secret check', (_f, u) => /secret-matches/.test(u)],
  ['the answer (Fastify reply, HTTP write)', (fn, u) => (fn === 'send' && /http\/app\.ts/.test(u)) || /fastify\/lib\/(reply|wrap-thenable)|_http_outgoing|_http_server.*resOnFinish/.test(u)],
  ['body read (Fastify content-type parser)', (_f, u) => /fastify\/lib\/content-type-parser|fastify\/lib\/content-type\.js/.test(u)],
  ['Fastify routing + hooks (onRequest, head, ingress share)', (_f, u) => /fastify\/|find-my-way|avvio|light-my-request|http\/(app|inbound)\.ts|ingress-share|telegram\/(webhook|channel)\.ts|src\/gateway\.ts|core\/errors/.test(u)],
  ['Node HTTP parse + sockets', (fn, u) => /_http_|node:net|stream_base|readable|writable|node:events/.test(u) || fn === 'parserOnHeadersComplete'],
  ['promises, ticks, timers', (fn, u) => /task_queues|timers/.test(u) || fn === 'runMicrotasks'],
  ['(program)', (fn) => fn === '(program)'],
];

const GENERIC = new Set(['Node HTTP parse + sockets', 'promises, ticks, timers']);

/** Only the samples of the measured load (startup and shutdown left out), as shares and µs per ack. */
function summarize(p: Profile, top: number, win: { from: number; to: number }, acks: number): void {
  const byId = new Map(p.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of p.nodes) for (const c of node.children ?? []) parent.set(c, node.id);
  const label = (id: number) => {
    const f = byId.get(id)!.callFrame;
    return `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*\/(node_modules\/)?/, '')}:${f.lineNumber + 1}`;
  };
  const time = new Map<number, number>();
  let clock = p.startTime;
  p.samples.forEach((id, i) => {
    clock += p.timeDeltas[i] ?? 0;
    if (clock >= win.from && clock < win.to) time.set(id, (time.get(id) ?? 0) + (p.timeDeltas[i] ?? 0));
  });
  const partOf = new Map<number, string>();
  const part = (id: number): string => {
    let found = partOf.get(id);
    if (found) return found;
    const f = byId.get(id)!.callFrame;
    found = PARTS.find(([, test]) => test(f.functionName, f.url))?.[0];
    const up = parent.get(id);
    // Node's own HTTP and scheduling frames name a part only when nothing above them does.
    if (found === undefined || GENERIC.has(found)) {
      const above = up === undefined ? 'other' : part(up);
      found = above !== 'other' && !GENERIC.has(above) ? above : (found ?? above);
    }
    partOf.set(id, found);
    return found;
  };
  const own = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const parts = new Map<string, number>();
  let busy = 0;
  for (const node of p.nodes) {
    const t = time.get(node.id) ?? 0;
    if (t === 0 || label(node.id).startsWith('(idle)')) continue;
    busy += t;
    own.set(label(node.id), (own.get(label(node.id)) ?? 0) + t);
    parts.set(part(node.id), (parts.get(part(node.id)) ?? 0) + t);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const l = label(id);
      if (!seen.has(l)) inclusive.set(l, (inclusive.get(l) ?? 0) + t);
      seen.add(l);
    }
  }
  const show = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([l, t]) => `${((100 * t) / busy).toFixed(1).padStart(6)} %  ${l}`).join('\n');
  const perAck = (t: number) => (t / Math.max(1, acks)).toFixed(1);
  const table = [...parts].sort((a, b) => b[1] - a[1]).map(([l, t]) => `| ${l} | ${perAck(t)} | ${((100 * t) / busy).toFixed(1)} % |`).join('\n');
  console.log(`\nmain thread CPU while under load: ${(busy / 1e6).toFixed(2)} s for ${acks} acks, ${perAck(busy)} µs per ack\n`);
  console.log(`| part | µs per ack | share |\n|---|---:|---:|\n${table}`);
  console.log(`\nown time:\n${show(own)}\n\ntotal time (with callees):\n${show(inclusive)}`);
}

// The main thread's profile is the largest (the WAL checkpoint thread writes its own).
const files = await Promise.all((await readdir(out)).filter((f) => f.endsWith('.cpuprofile')).map(async (f) => ({ f: join(out, f), size: (await stat(join(out, f))).size })));
const main = files.sort((a, b) => b.size - a.size)[0]!.f;
summarize(JSON.parse(await readFile(main, 'utf8')) as Profile, Number(values.top), window, acked);
console.log(`\nprofile: ${main}`);
