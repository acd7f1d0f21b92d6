import { parseArgs } from 'node:util';
import { startFakeFreshdesk, type FakeFreshdesk } from '../test/fakes/freshdesk-server.ts';
import { loadAverage, round, sleep, startGateway, TELEGRAM_CHANNEL, tempDir, update, webhookHeaders } from './lib.ts';

/**
 * Rate limit: a backlog of messages (10,000 by default) against a Freshdesk that allows N requests a
 * minute (fixed windows, X-RateLimit-* headers, 429 + Retry-After beyond them, like Freshdesk).
 * The windows are compressed (6 s of N/10 each, still reporting N a minute) so that one drain
 * spans many windows; a 1-minute window is `--window-ms 60000`. The real gateway process takes
 * the messages in as fast as they come and delivers them through its rate limiter. Measured:
 * helpdesk requests accepted per window while draining, against what the window allows (target:
 * at least 95%), the share answered 429 (target: at most 1%), and that every message arrived
 * exactly once.
 *
 * Scenarios: `configured` (requestsPerMinute: N in the config), `reported` (not configured: the
 * limiter starts from the plan default and adopts the X-RateLimit-Total Freshdesk reports),
 * `shared` (configured N, while another app on the account spends a fifth of every window).
 *
 *   node bench/rate-limit.ts [--messages 10000] [--per-minute 12000] [--window-ms 6000] [--chats 200] [--scenarios configured,reported,shared]
 */

export interface RateLimitOptions {
  messages: number;
  /** N, the account's requests per minute. */
  perMinute: number;
  windowMs: number;
  chats: number;
  scenarios: Scenario[];
}

const API_KEY = 'drain-api-key-0123456789';
/** Another app's share of the account in the `shared` scenario. */
const OTHER_APP_SHARE = 0.2;

export type Scenario = 'configured' | 'reported' | 'shared';

export interface RateLimitRun {
  scenario: Scenario;
  perMinuteAllowed: number;
  windowMs: number;
  messages: number;
  requests: number;
  limited: number;
  seconds: number;
  perMinute: number;
  /** What the account left this gateway in a window (mean over the full windows). */
  allowedPerWindow: number;
  /** Mean accepted per window, over the windows wholly inside the drain. */
  meanPerWindow: number;
  fullWindows: number;
  busiestWindow: number;
  lost: number;
  duplicated: number;
  load: string;
}

function yaml(dataDir: string, helpdeskUrl: string, scenario: Scenario, N: number): string {
  return `
server: { port: 8080, host: 127.0.0.1 }
store: { kind: embedded, path: "${dataDir}" }
log: { level: warn }
delivery: { maxAttempts: 30, baseDelayMs: 500, maxDelayMs: 60000, concurrency: 8 }
helpdesk:
  kind: freshdesk
  baseUrl: ${helpdeskUrl}
  apiKey: ${API_KEY}
  groups: { payments: 101 }
${scenario === 'reported' ? '' : `  requestsPerMinute: ${N}`}
${TELEGRAM_CHANNEL}
rules:
  - name: withdrawal
    when: { text: { keywords: ["вывод"] } }
    set: { priority: high, tags: [payments, withdrawal], group: payments }
`;
}

/** Every `bench-<n>` the helpdesk holds, counted: the ticket descriptions and the customer's notes. */
function arrivals(fd: FakeFreshdesk): Map<number, number> {
  const seen = new Map<number, number>();
  const count = (text: string) => {
    for (const m of text.matchAll(/bench-(\d+)/g)) seen.set(Number(m[1]), (seen.get(Number(m[1])) ?? 0) + 1);
  };
  for (const t of fd.tickets) {
    count(t.description_text);
    for (const c of t.conversations) if (c.incoming) count(c.body_text);
  }
  return seen;
}

async function post(gatewayUrl: string, first: number, messages: number, chats: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < messages) {
      const n = first + next++;
      const res = await fetch(`${gatewayUrl}/webhooks/telegram`, { method: 'POST', headers: webhookHeaders, body: update(n, chats) });
      if (res.status !== 200) throw new Error(`webhook ${n} answered ${res.status}: ${await res.text()}`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

async function drain(scenario: Scenario, o: RateLimitOptions): Promise<RateLimitRun> {
  const { messages: MESSAGES, perMinute: N, windowMs: WINDOW_MS } = o;
  const PER_WINDOW = Math.round((N * WINDOW_MS) / 60_000);
  const load = loadAverage();
  const fd = await startFakeFreshdesk({ apiKey: API_KEY, groups: [101], rateLimit: { perWindow: PER_WINDOW, windowMs: WINDOW_MS, reportedTotal: N } });
  const dir = await tempDir();
  const gw = await startGateway({ yaml: yaml(`${dir.path}/data`, fd.url, scenario, N), dir: dir.path, name: `drain-${scenario}` });
  // The other app spends its share steadily, by the clock (a late timer catches up).
  let spentUntil = Date.now();
  const other = scenario === 'shared'
    ? setInterval(() => {
      const now = Date.now();
      const n = Math.floor(((now - spentUntil) / 60_000) * N * OTHER_APP_SHARE);
      if (n > 0) {
        fd.consume(n);
        spentUntil += (n / (N * OTHER_APP_SHARE)) * 60_000;
      }
    }, 50)
    : undefined;
  const firstMessage = 1;
  try {
    const posting = post(gw.url, firstMessage, MESSAGES, o.chats);
    let started = 0;
    const deadline = Date.now() + ((MESSAGES * 3) / (N * (1 - OTHER_APP_SHARE))) * 60_000 + 120_000;
    let done = 0;
    for (;;) {
      if (!started && fd.rate.accepted > 0) started = Date.now();
      const seen = arrivals(fd);
      if (seen.size >= MESSAGES) {
        done = Date.now();
        break;
      }
      if (Date.now() > deadline) throw new Error(`drain (${scenario}): only ${seen.size} of ${MESSAGES} messages arrived in time\n${gw.output()}`);
      await sleep(500);
    }
    await posting;
    // Anything still in flight that would be a duplicate shows up now.
    await sleep(1000);
    const seen = arrivals(fd);
    let duplicated = 0;
    for (const c of seen.values()) if (c > 1) duplicated += c - 1;
    let lost = 0;
    for (let n = firstMessage; n < firstMessage + MESSAGES; n++) if (!seen.has(n)) lost++;
    const seconds = (done - started) / 1000;
    const windows = [...fd.rate.windows.entries()];
    const full = windows.filter(([start]) => start >= started && start + WINDOW_MS <= done).map(([, w]) => w);
    return {
      scenario,
      perMinuteAllowed: N,
      windowMs: WINDOW_MS,
      messages: MESSAGES,
      requests: fd.rate.accepted,
      limited: fd.rate.limited,
      seconds: round(seconds, 1),
      perMinute: round((fd.rate.accepted / seconds) * 60),
      // What the other app left in each window is what this gateway could have had.
      allowedPerWindow: full.length > 0 ? round(full.reduce((a, w) => a + PER_WINDOW - w.other, 0) / full.length) : PER_WINDOW,
      meanPerWindow: full.length > 0 ? round(full.reduce((a, w) => a + w.accepted, 0) / full.length) : NaN,
      fullWindows: full.length,
      busiestWindow: Math.max(...windows.map(([, w]) => w.accepted)),
      lost,
      duplicated,
      load,
    };
  } finally {
    if (other) clearInterval(other);
    await gw.stop();
    await fd.close();
    await dir.remove();
  }
}

export async function rateLimitBench(o: RateLimitOptions): Promise<RateLimitRun[]> {
  const runs: RateLimitRun[] = [];
  for (const scenario of o.scenarios) runs.push(await drain(scenario, o));
  return runs;
}

/** At least 95% of what the account allows, at most 1% answered 429, nothing lost or duplicated. */
export function rateLimitMet(r: RateLimitRun): boolean {
  return r.meanPerWindow / r.allowedPerWindow >= 0.95 && r.limited / (r.requests + r.limited) <= 0.01 && r.lost === 0 && r.duplicated === 0;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '10000' },
      'per-minute': { type: 'string', default: '12000' },
      'window-ms': { type: 'string', default: '6000' },
      chats: { type: 'string', default: '200' },
      scenarios: { type: 'string', default: 'configured,reported,shared' },
    },
  });
  const runs = await rateLimitBench({
    messages: Number(values.messages),
    perMinute: Number(values['per-minute']),
    windowMs: Number(values['window-ms']),
    chats: Number(values.chats),
    scenarios: values.scenarios.split(',').filter(Boolean) as Scenario[],
  });
  for (const r of runs) console.log(JSON.stringify(r));
  process.exit(runs.every(rateLimitMet) ? 0 : 1);
}
