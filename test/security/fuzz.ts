import fc from 'fast-check';
import { formBody, multipart } from './bodies.ts';
import { startHostileGateway, type Encoded, type HelpdeskKind, type HostileGateway, type Route } from './gateway.ts';

/**
 * Generated bodies against every inbound route of the real gateway process (fast-check makes
 * them): valid payloads with one field swapped for something else, extra keys (poisoned ones
 * among them), random JSON, deep nesting, forms, multipart with odd boundaries, raw bytes under
 * any content type, odd query strings. Signed where the route is signed, so they get past the
 * guard into the parsers and handlers. Reports, per route, the 5xx answers, whether the process
 * died, and event-loop stalls read from /metrics. `npm run fuzz` runs 10,000 per route; the test
 * suite runs a few.
 */

export interface FuzzOptions {
  runs: number;
  seed: number;
  helpdesks: HelpdeskKind[];
  /** Concurrent requests. */
  concurrency?: number;
  log?: (line: string) => void;
}

export interface RouteResult {
  helpdesk: HelpdeskKind;
  route: string;
  sent: number;
  statuses: Record<string, number>;
  /** A few 5xx answers, with what was sent (cut), to reproduce. */
  fivexx: { status: number; contentType: string; body: string; answer: string }[];
  fivexxCount: number;
  /** Requests the gateway did not answer at all (connection refused or reset). */
  unanswered: number;
  /** Longest event-loop delay seen while this route was fuzzed, in seconds. */
  maxLoopDelay: number;
  stalls: number;
}

export interface FuzzReport {
  seed: number;
  runs: number;
  results: RouteResult[];
  crashes: number;
  seconds: number;
}

/** An event-loop delay this long counts as a stall: a megabyte of linear work blocks it for a fraction of that, a super-linear pattern for seconds to minutes. */
export const STALL_SECONDS = 2;
/** How often /metrics is read for the event-loop delay, in requests. */
const LAG_EVERY = 50;

const POISON = ['__proto__', 'constructor', 'prototype', '__proto__[polluted]', 'constructor[prototype][polluted]', 'a[__proto__][b]', '__proto__.polluted'];
const KB = 1024;

const key = fc.oneof({ weight: 5, arbitrary: fc.string({ maxLength: 12 }) }, { weight: 1, arbitrary: fc.constantFrom(...POISON) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) });
const text = fc.oneof(
  { weight: 6, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom('Ж'.repeat(32 * KB), 'a@'.repeat(32 * KB), '4111 '.repeat(13 * KB), ' '.repeat(64 * KB), '{'.repeat(64 * KB), '\u0000\uffff\ud800') },
);
const scalar = fc.oneof(text, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.constantFrom(Number.MAX_SAFE_INTEGER, -1, 0, 1e308));
const value = fc.oneof({ weight: 4, arbitrary: scalar }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) }, { weight: 1, arbitrary: fc.array(scalar, { maxLength: 5 }) }, { weight: 1, arbitrary: fc.dictionary(key, scalar, { maxKeys: 4 }) });

/** Nested `depth` levels deep, as arrays or objects. */
function nested(depth: number, asObject: boolean): string {
  return asObject ? `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}` : `${'['.repeat(depth)}1${']'.repeat(depth)}`;
}

function leafPaths(v: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(v)) return [prefix, ...v.flatMap((x, i) => leafPaths(x, [...prefix, i]))];
  if (typeof v === 'object' && v !== null) return [prefix, ...Object.entries(v).flatMap(([k, x]) => leafPaths(x, [...prefix, k]))];
  return [prefix];
}

/** Puts `replacement` at `path` (replacing, or adding `extraKey` under an object there). */
function mutate(sample: unknown, path: (string | number)[], replacement: unknown, extraKey?: string): unknown {
  if (path.length === 0) {
    if (extraKey !== undefined && typeof sample === 'object' && sample !== null && !Array.isArray(sample)) return { ...sample, [extraKey]: replacement };
    return extraKey === undefined ? replacement : sample;
  }
  const [head, ...rest] = path;
  if (Array.isArray(sample)) return sample.map((x, i) => (i === head ? mutate(x, rest, replacement, extraKey) : x));
  if (typeof sample === 'object' && sample !== null) return { ...sample, [head!]: mutate((sample as Record<string, unknown>)[head!], rest, replacement, extraKey) };
  return sample;
}

interface Case {
  body: Encoded;
  signed: boolean;
  query: string;
}

const CONTENT_TYPES = ['application/json', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=b', 'multipart/form-data', 'text/plain', 'application/octet-stream', 'application/vnd.api+json', 'application/json; charset=latin1', ''];

/** Every kind of body for one route. */
function caseArbitrary(route: Route): fc.Arbitrary<Case> {
  const sample = route.sample();
  const paths = leafPaths(sample);
  const mutated = fc.tuple(fc.integer({ min: 0, max: paths.length - 1 }), value, fc.option(key, { nil: undefined })).map(([i, v, extra]) => route.encode(mutate(sample, paths[i]!, v, extra), true));
  const randomJson = fc.jsonValue({ maxDepth: 5 }).map((v) => route.encode(v, true));
  const deep = fc.tuple(fc.integer({ min: 10, max: 20_000 }), fc.boolean()).map(([d, o]): Encoded => ({ contentType: 'application/json', raw: Buffer.from(nested(d, o)) }));
  const form = fc.array(fc.tuple(key, text), { maxLength: 8 }).map((pairs) => formBody(pairs));
  const parts = fc.tuple(fc.array(fc.tuple(key, text), { maxLength: 5 }), fc.array(fc.tuple(key, fc.string({ maxLength: 20 }), fc.uint8Array({ maxLength: 2048 })), { maxLength: 2 }), fc.constantFrom('b', 'x'.repeat(70), '', '"q"', 'a b'))
    .map(([fields, files, boundary]) => multipart(fields, files.map(([field, filename, data]) => ({ field, filename, data: Buffer.from(data) })), boundary));
  const bytes = fc.tuple(fc.uint8Array({ maxLength: 4096 }), fc.constantFrom(...CONTENT_TYPES)).map(([b, contentType]): Encoded => ({ contentType, raw: Buffer.from(b) }));
  const body = fc.oneof({ weight: 6, arbitrary: mutated }, { weight: 2, arbitrary: randomJson }, { weight: 1, arbitrary: deep }, { weight: 2, arbitrary: form }, { weight: 2, arbitrary: parts }, { weight: 2, arbitrary: bytes });
  const query = fc.oneof(
    { weight: 8, arbitrary: fc.constant('') },
    { weight: 2, arbitrary: fc.array(fc.tuple(key, fc.string({ maxLength: 20 })), { minLength: 1, maxLength: 4 }).map((pairs) => `?${new URLSearchParams(pairs).toString()}`) },
  );
  return fc.record({ body, signed: fc.oneof({ weight: 9, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }), query });
}

async function loopDelay(g: HostileGateway): Promise<number> {
  return (await g.metrics()).get('nodejs_eventloop_lag_max_seconds') ?? 0;
}

async function fuzzRoute(g: HostileGateway, route: Route, o: FuzzOptions): Promise<RouteResult> {
  const result: RouteResult = { helpdesk: g.helpdesk, route: route.name, sent: 0, statuses: {}, fivexx: [], fivexxCount: 0, unanswered: 0, maxLoopDelay: 0, stalls: 0 };
  const arb = caseArbitrary(route);
  const concurrency = o.concurrency ?? 4;
  await loopDelay(g);
  for (let done = 0; done < o.runs;) {
    const batch = fc.sample(arb, { numRuns: Math.min(LAG_EVERY, o.runs - done), seed: o.seed + done });
    let next = 0;
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (next < batch.length) {
        const c = batch[next++]!;
        let status: number;
        let answer = '';
        try {
          const res = await g.send(route, c.body, { signed: c.signed, query: c.query });
          status = res.status;
          answer = res.text;
        } catch {
          status = 0;
        }
        result.sent++;
        result.statuses[status] = (result.statuses[status] ?? 0) + 1;
        if (status === 0) result.unanswered++;
        if (status >= 500) {
          result.fivexxCount++;
          if (result.fivexx.length < 5) result.fivexx.push({ status, contentType: c.body.contentType, body: c.body.raw.toString('utf8').slice(0, 300), answer: answer.slice(0, 300) });
        }
      }
    }));
    done += batch.length;
    const lag = await loopDelay(g).catch(() => 0);
    result.maxLoopDelay = Math.max(result.maxLoopDelay, lag);
    if (lag > STALL_SECONDS) result.stalls++;
  }
  o.log?.(`${g.helpdesk} ${route.name}: ${result.sent} sent, ${result.fivexxCount} 5xx, ${result.unanswered} unanswered, max loop delay ${(result.maxLoopDelay * 1000).toFixed(0)} ms`);
  return result;
}

export async function runFuzz(o: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  const results: RouteResult[] = [];
  let crashes = 0;
  for (const helpdesk of o.helpdesks) {
    const g = await startHostileGateway(helpdesk);
    try {
      // With the Usedesk gateway every channel route; with the others, the helpdesk route only.
      for (const route of g.routes.filter((r) => helpdesk === 'usedesk' || r.path === '/helpdesk/events')) {
        results.push(await fuzzRoute(g, route, o));
        if (g.gw.exited) {
          crashes++;
          o.log?.(`the gateway process died: ${g.gw.output.slice(-3000)}`);
          break;
        }
      }
    } finally {
      await g.close();
    }
  }
  return { seed: o.seed, runs: o.runs, results, crashes, seconds: (Date.now() - started) / 1000 };
}

export function reportTable(r: FuzzReport): string {
  const rows = r.results.map((x) => `| ${x.helpdesk} | ${x.route} | ${x.sent} | ${x.fivexxCount} | ${x.unanswered} | ${(x.maxLoopDelay * 1000).toFixed(0)} | ${x.stalls} | ${Object.entries(x.statuses).map(([s, n]) => `${s}×${n}`).join(' ')} |`);
  return [
    `Seed ${r.seed}, ${r.runs} bodies per route, ${r.seconds.toFixed(0)} s, gateway crashes: ${r.crashes}.`,
    '',
    '| helpdesk | route | sent | 5xx | unanswered | max event-loop delay (ms) | stalls (> 2 s) | answers |',
    '|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

// `npm run fuzz`: FUZZ_RUNS bodies per route (default 10,000), FUZZ_SEED to replay a run.
if (import.meta.url === `file://${process.argv[1]}`) {
  const runs = Number(process.env['FUZZ_RUNS'] ?? 10_000);
  const seed = Number(process.env['FUZZ_SEED'] ?? Date.now() % 1_000_000);
  const report = await runFuzz({ runs, seed, helpdesks: ['usedesk', 'zendesk', 'freshdesk', 'jsonl'], log: (l) => console.error(l) });
  console.log(reportTable(report));
  const failed = report.crashes > 0 || report.results.some((x) => x.fivexxCount > 0 || x.unanswered > 0 || x.stalls > 0);
  for (const x of report.results) for (const f of x.fivexx) console.error(`${x.route}: ${f.status} for ${f.contentType} ${JSON.stringify(f.body)} → ${f.answer}`);
  process.exitCode = failed ? 1 : 0;
}
