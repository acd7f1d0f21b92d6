import { startRedis } from '../test/fakes/redis-server.ts';
import { gatewayYaml, helpdeskStats, loadAverage, sleep, spawnServer, startGateway, tempDir, update, webhookHeaders, type Child, type Store } from './lib.ts';

/**
 * Under backlog, urgent first and fair for everyone (issue 11). The real gateway with the
 * shipped iGaming rules and its default flood limit, against a helpdesk limited to N requests
 * a minute (the gateway's limiter paces; the helpdesk answers at once). A backlog of 10,000
 * messages is queued: 1,000 conversations with 5 ordinary messages each, and 5 senders
 * flooding 1,000 messages each. Then, at once:
 *   - a responsible-gaming plea in a new conversation (urgent);
 *   - an ordinary first message in a new conversation;
 *   - a responsible-gaming plea in a conversation that still has messages queued.
 * Counted for each: the helpdesk requests and the messages delivered between its ack and its
 * arrival, against what round-robin promises (the conversations ahead of it in its class, plus
 * the deliveries already in flight, plus for the ordinary one the urgent messages that come while
 * it waits) and what a queue in arrival order would make it wait.
 */

export interface ProbeResult {
  probe: string;
  /** Helpdesk requests between the ack and the request that brought it. */
  requests: number;
  /** Other messages delivered meanwhile. */
  messagesBefore: number;
  /** Its fair share: conversations ahead of it in its class when it arrived, plus deliveries in flight, plus urgent messages that come while an ordinary one waits. */
  fairShare: number;
  /** Messages queued ahead of it in arrival order (what a single queue would make it wait). */
  fifo: number;
  seconds: number;
}

export interface FairnessRun {
  setup: string;
  perMinute: number;
  backlog: number;
  probes: ProbeResult[];
  /** Messages of senders over the flood limit (throttled) delivered by the time the probes arrived (they wait behind everyone). */
  throttledDelivered: number;
  throttled: number;
  load: string;
}

const NORMAL_TEXT = 'Здравствуйте, подскажите часы работы поддержки';
const RG_TEXT = 'Я хочу самоисключиться, я не могу остановиться играть';
const CONCURRENCY = 8;

interface Sent {
  n: number;
  chat: number;
  /** Within the flood limit (the first 30 a sender sends inside a minute are not throttled). */
  normalClass: boolean;
}

async function post(url: string, body: string): Promise<void> {
  const res = await fetch(`${url}/webhooks/telegram`, { method: 'POST', headers: webhookHeaders, body });
  if (res.status !== 200) throw new Error(`webhook answered ${res.status}: ${await res.text()}`);
}

async function arrivals(hd: Child): Promise<Record<string, number>> {
  return fetch(`${hd.url}/bench/arrival-requests`).then((r) => r.json() as Promise<Record<string, number>>);
}


async function one(setup: string, store: Store, o: { perMinute: number; conversations: number; perConversation: number; floodSenders: number; floodEach: number }): Promise<FairnessRun> {
  const hd = await spawnServer('fake-helpdesk.ts');
  const dir = await tempDir();
  try {
    const gw = await startGateway({ dir: dir.path, yaml: gatewayYaml({ store, helpdeskUrl: hd.url, concurrency: CONCURRENCY, requestsPerMinute: o.perMinute, rules: true }) });
    try {
      // The backlog, interleaved as it would come in.
      const sent: Sent[] = [];
      let n = 60_000_000;
      const floodChats = Array.from({ length: o.floodSenders }, (_, i) => 7_000_000 + i);
      const chats = Array.from({ length: o.conversations }, (_, i) => 6_000_000 + i);
      const bodies: string[] = [];
      for (let k = 0; k < Math.max(o.perConversation, o.floodEach); k++) {
        for (const chat of k < o.perConversation ? chats : []) {
          sent.push({ n, chat, normalClass: true });
          bodies.push(update(n++, 0, { chat, text: NORMAL_TEXT }));
        }
        for (const chat of k < o.floodEach ? floodChats : []) {
          sent.push({ n, chat, normalClass: k < 30 });
          bodies.push(update(n++, 0, { chat, text: NORMAL_TEXT }));
        }
      }
      let next = 0;
      await Promise.all(Array.from({ length: 16 }, async () => {
        while (next < bodies.length) await post(gw.url, bodies[next++]!);
      }));

      // The probes, one after another, each timed from its own ack.
      const load = loadAverage();
      const probes: { name: string; n: number; chat: number; text: string; at: number; requests: number; delivered: Set<number> }[] = [
        { name: 'responsible-gaming plea, new conversation', n: n++, chat: 8_000_001, text: RG_TEXT, at: 0, requests: 0, delivered: new Set() },
        { name: 'ordinary first message, new conversation', n: n++, chat: 8_000_002, text: NORMAL_TEXT, at: 0, requests: 0, delivered: new Set() },
        { name: 'responsible-gaming plea behind its own queued messages', n: n++, chat: chats[chats.length - 1]!, text: RG_TEXT, at: 0, requests: 0, delivered: new Set() },
      ];
      for (const p of probes) {
        const before = await arrivals(hd);
        p.delivered = new Set(Object.keys(before).map(Number));
        p.requests = (await helpdeskStats(hd)).requests;
        p.at = Date.now();
        await post(gw.url, update(p.n, 0, { chat: p.chat, text: p.text }));
      }
      const deadline = Date.now() + Number(process.env["FAIR_WAIT_MS"] ?? 300_000);
      let got: Record<string, number> = {};
      while (Date.now() < deadline) {
        got = await arrivals(hd);
        if (probes.every((p) => got[String(p.n)] !== undefined)) break;
        await sleep(100);
      }
      const times = await fetch(`${hd.url}/bench/arrivals`).then((r) => r.json() as Promise<Record<string, number>>);
      const results: ProbeResult[] = probes.map((p, i) => {
        const arrivedAt = got[String(p.n)];
        if (arrivedAt === undefined) throw new Error(`${setup}: "${p.name}" did not arrive in 5 minutes\n${gw.output()}`);
        const waiting = sent.filter((s) => !p.delivered.has(s.n));
        const urgent = i !== 1;
        // Round-robin: a lane of its class ahead of it gets one turn before it; an urgent lane has only urgent ones ahead.
        const ahead = urgent ? 0 : new Set(waiting.filter((s) => s.normalClass).map((s) => s.chat)).size;
        const own = i === 2 ? waiting.filter((s) => s.chat === p.chat).length : 0;
        // A conversation's messages go one at a time, in order: while the probe's own queued ones
        // go (each taking a slot without pause), the other slots keep delivering, one message each.
        // An ordinary message also waits, by design, for the urgent ones acknowledged while it
        // waits (urgent first): the other probes, with the queued messages of a conversation an
        // urgent message lifts (that conversation is already one of the lanes `ahead`).
        const urgentFirst = urgent ? 0 : probes.reduce((sum, q, j) => {
          if (j === i) return sum;
          const queued = waiting.filter((s) => s.chat === q.chat);
          return sum + 1 + queued.length - (queued.some((s) => s.normalClass) ? 1 : 0);
        }, 0);
        const fairShare = i === 2 ? (own + 1) * CONCURRENCY - 1 : ahead + CONCURRENCY + urgentFirst;
        return {
          probe: p.name,
          requests: arrivedAt - p.requests,
          messagesBefore: Object.entries(got).filter(([k, r]) => !p.delivered.has(Number(k)) && r < arrivedAt).length,
          fairShare,
          fifo: waiting.length,
          seconds: ((times[String(p.n)] ?? p.at) - p.at) / 1000,
        };
      });
      const throttled = sent.filter((x) => !x.normalClass);
      const throttledDelivered = throttled.filter((x) => got[String(x.n)] !== undefined).length;
      return { setup, perMinute: o.perMinute, backlog: sent.length, probes: results, throttledDelivered, throttled: throttled.length, load };
    } finally {
      await gw.stop();
    }
  } finally {
    await hd.stop();
    await dir.remove();
  }
}

export async function fairnessBench(o: { perMinute: number; conversations: number; perConversation: number; floodSenders: number; floodEach: number }): Promise<FairnessRun[]> {
  const runs: FairnessRun[] = [];
  const dir = await tempDir();
  try {
    runs.push(await one('embedded store', { kind: 'embedded', path: `${dir.path}/data` }, o));
  } finally {
    await dir.remove();
  }
  const redis = await startRedis({ appendfsync: 'everysec' });
  try {
    runs.push(await one('Redis (--role all)', { kind: 'redis', url: redis.url }, o));
  } finally {
    await redis.close();
  }
  return runs;
}

if (import.meta.main) {
  const runs = await fairnessBench({ perMinute: Number(process.argv[2] ?? 6000), conversations: Number(process.argv[3] ?? 1000), perConversation: 5, floodSenders: 5, floodEach: Number(process.argv[4] ?? 1000) });
  console.log(JSON.stringify(runs, null, 2));
}
