import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../e2e/harness.ts';
import { HOSTILE_STRINGS, pollutionBodies } from './bodies.ts';
import { ACCOUNT, startHostileGateway, type HelpdeskKind, type HostileGateway, type Route } from './gateway.ts';

/**
 * The front door, tried from outside as an attacker would, against the real gateway process with
 * every inbound connector kind configured. What a user would notice: the attack is refused with a
 * 4xx (never a 5xx that makes a channel redeliver), the gateway keeps serving and keeps
 * delivering, memory and the event loop stay within bounds, nothing is fetched from inside, and
 * a customer's message still arrives when one of its files cannot be fetched.
 */

/**
 * The budget of one 1 MB hostile request, its delivery included, in the gateway's own measures
 * (read from /metrics, not the test's clock): CPU time, which other processes on the machine do
 * not inflate, and the longest the event loop was blocked, which they do (a linear megabyte blocks
 * it for 0.1 to 0.3 s on an idle machine, up to 3 s when the machine's two cores are shared). The
 * old super-linear patterns blocked it for 20 s on 16 KB and over 10 minutes on 400,000 × "Ж".
 */
const MAX_CPU_PER_REQUEST_S = 1.5;
const MAX_LOOP_STALL_S = 5;
/** The most the resident memory may grow under a flood of over-limit uploads (it grew 310 MB before). */
const MAX_RSS_GROWTH = 96 * 1024 * 1024;

const LAG = 'nodejs_eventloop_lag_max_seconds';
const CPU = 'process_cpu_seconds_total';
const RSS = 'process_resident_memory_bytes';

/** Internal services an attacker would like the gateway to fetch: each request it gets is a failure. */
let inside: Server;
let insideUrl: string;
const insideHits: string[] = [];
/** A file host on the on-premise network: a redirect into `inside`, and a file that comes one byte a second. */
let files: Server;
let filesPort: number;

beforeAll(async () => {
  inside = createServer((req, res) => {
    insideHits.push(req.url ?? '');
    res.writeHead(200, { 'content-type': 'application/json' }).end('{"AccessKeyId":"AKIA-stolen"}');
  });
  await new Promise<void>((r) => inside.listen(0, '127.0.0.1', r));
  insideUrl = `http://127.0.0.1:${(inside.address() as AddressInfo).port}`;
  files = createServer((req, res) => {
    if (req.url?.startsWith('/redirect')) return void res.writeHead(302, { location: `${insideUrl}/latest/meta-data/iam/security-credentials/` }).end();
    res.writeHead(200, { 'content-type': 'application/pdf' });
    const timer = setInterval(() => res.write('%'), 1000);
    res.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((r) => files.listen(0, '127.0.0.1', r));
  filesPort = (files.address() as AddressInfo).port;
});
afterAll(async () => {
  inside.closeAllConnections();
  files.closeAllConnections();
  await Promise.all([new Promise((r) => inside.close(r)), new Promise((r) => files.close(r))]);
});

/** Scrapes /metrics (which also restarts the event-loop lag window) and returns one value. */
async function metric(g: HostileGateway, name: string): Promise<number> {
  return (await g.metrics()).get(name) ?? Number.NaN;
}

/**
 * Waits until the queue holds nothing and nothing is being delivered; answers the longest the
 * event loop was blocked meanwhile (every read of /metrics restarts prom-client's lag window, so
 * each read's maximum counts).
 */
async function drained(g: HostileGateway): Promise<number> {
  let worst = 0;
  await waitFor('the queue to drain', async () => {
    const m = await g.metrics();
    worst = Math.max(worst, m.get(LAG) ?? 0);
    return m.get('switchboard_queue_depth') === 0 && m.get('switchboard_in_flight') === 0;
  }, 120_000);
  return worst;
}

/** Every path to a scalar in a sample payload. */
function leafPaths(value: unknown, prefix: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => leafPaths(v, [...prefix, i]));
  if (typeof value === 'object' && value !== null) return Object.entries(value).flatMap(([k, v]) => leafPaths(v, [...prefix, k]));
  return [prefix];
}

function withValue(sample: Record<string, unknown>, path: (string | number)[], value: string): Record<string, unknown> {
  const copy = structuredClone(sample);
  let node: Record<string | number, unknown> = copy;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string | number, unknown>;
  node[path.at(-1)!] = value;
  return copy;
}

async function stillServing(g: HostileGateway): Promise<void> {
  expect((await fetch(`${g.gw.url}/healthz`)).status).toBe(200);
  expect((await fetch(`${g.gw.url}/metrics`)).status).toBe(200);
}

describe.each<HelpdeskKind>(['usedesk', 'zendesk', 'freshdesk', 'jsonl'])('the front door with %s as the helpdesk (real gateway process)', (helpdesk) => {
  let g: HostileGateway;
  const only = (r: Route) => helpdesk === 'usedesk' || r.path === '/helpdesk/events';

  beforeAll(async () => {
    g = await startHostileGateway(helpdesk);
  }, 60_000);
  afterAll(() => g?.close());
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') console.error(g.gw.output.slice(-5000));
  });

  it('prototype-pollution bodies on every route and content type, signed and not: 4xx, and the gateway keeps serving', { timeout: 120_000 }, async () => {
    const answers: string[] = [];
    for (const route of g.routes.filter(only)) {
      for (const attempt of pollutionBodies(route.sample())) {
        for (const signed of [false, true]) {
          const body = attempt.encoded ?? route.encode(attempt.body, signed);
          const res = await g.send(route, body, { signed });
          answers.push(`${route.name} ${attempt.label} ${signed ? 'signed' : 'unsigned'}: ${res.status}`);
        }
      }
      for (const query of ['?__proto__[polluted]=yes', '?constructor[prototype][polluted]=yes', '?token=a&token=b']) {
        const res = await g.send(route, route.encode(route.sample(), true), { query });
        answers.push(`${route.name} query ${query}: ${res.status}`);
      }
    }
    expect(answers.filter((a) => !/: 4\d\d$/.test(a) && !/: 200$/.test(a))).toEqual([]);
    // The signed JSON ones reached the parser and were refused there, naming the key.
    // (The dry run refuses every agent event at the head: nothing of it is ever parsed.)
    const refusedByParser = answers.filter((a) => a.includes(' signed: 400'));
    if (helpdesk !== 'jsonl') expect(refusedByParser.length).toBeGreaterThan(0);

    await stillServing(g);
    // A polluted Object.prototype shows in prom-client: a counter given a new label set throws
    // ("Added label … is not included"), which is how the old gateway went down. A first message
    // on a channel nobody touched yet makes new label sets, and it must be accepted and counted.
    if (helpdesk === 'usedesk') {
      const crm = g.routes.find((r) => r.name === 'webhook (hmac)')!;
      const fresh = { id: 'after-pollution-1', from: 'player-fresh', text: 'Проверка после атаки' };
      expect((await g.send(crm, crm.encode(fresh, true))).status).toBe(200);
      await waitFor('the fresh message in the helpdesk', () => g.ticketTexts().some((t) => t.includes('Проверка после атаки')));
      const metrics = await g.metrics();
      expect(metrics.get('switchboard_accepted_total{channel="crm"}')).toBeGreaterThanOrEqual(1);
    }
    const form = await fetch(`${g.gw.url}/forms/contact`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify({ message: `still open ${helpdesk}`, email: 'p@example.com' }),
    });
    expect(form.status).toBe(200);
  });

  it('1 MB hostile strings in every field of every route, and long URL paths: answered without stalling the event loop', { timeout: 600_000 }, async () => {
    const stalls: string[] = [];
    const fivexx: string[] = [];
    const variants = Object.entries(HOSTILE_STRINGS);
    const lags: [number, string][] = [];
    const cpus: [number, string][] = [];
    let requests = 0;
    await metric(g, LAG);
    const cpuBefore = await metric(g, CPU);
    for (const route of g.routes.filter(only)) {
      const sample = route.sample();
      const paths = leafPaths(sample);
      for (const [i, path] of paths.entries()) {
        const [name, hostile] = variants[i % variants.length]!;
        const label = `${route.name} ${path.join('.')}=${name}`;
        const cpu = await metric(g, CPU);
        const res = await g.send(route, route.encode(withValue(sample, path, hostile), true));
        requests++;
        if (res.status >= 500) fivexx.push(`${label}: ${res.status}`);
        // Its delivery runs in this process too: the window lasts until it is done.
        const lag = await drained(g);
        const spent = (await metric(g, CPU)) - cpu;
        lags.push([lag, label]);
        cpus.push([spent, label]);
        if (lag > MAX_LOOP_STALL_S) stalls.push(`${label}: loop blocked ${lag.toFixed(2)} s`);
        if (spent > MAX_CPU_PER_REQUEST_S) stalls.push(`${label}: ${spent.toFixed(2)} s of CPU`);
      }
    }
    // Paths: Node refuses a head over 16 KB (431); just under it, the request reaches the routes.
    for (const path of [`/webhooks/crm/${'Ж'.repeat(2500)}`, `/webhooks/crm/${'a@'.repeat(3500)}`, `/webhooks/${'x'.repeat(15_000)}`, `/webhooks/crm/${'a'.repeat(1_000_000)}`]) {
      const crm = g.routes.find((r) => r.name === 'webhook (hmac)')!;
      for (const signed of [false, true]) {
        const res = await g.send(crm, crm.encode(crm.sample(), signed), { signed, path: encodeURI(path) }).catch(() => ({ status: 0, text: 'connection closed' }));
        requests++;
        if (res.status >= 500) fivexx.push(`path of ${path.length} chars: ${res.status}`);
        const lag = await drained(g);
        lags.push([lag, `path of ${path.length} chars`]);
        if (lag > MAX_LOOP_STALL_S) stalls.push(`path of ${path.length} chars: loop blocked ${lag.toFixed(2)} s`);
      }
    }
    const cpuPerRequest = ((await metric(g, CPU)) - cpuBefore) / requests;
    const worst = (list: [number, string][]) => {
      list.sort((a, b) => a[0] - b[0]);
      return `at most ${(list.at(-1)![0] * 1000).toFixed(0)} ms (${list.at(-1)![1]}), median ${(list[Math.floor(list.length / 2)]![0] * 1000).toFixed(0)} ms`;
    };
    console.info(`${helpdesk}: ${requests} hostile requests, their deliveries included: ${(cpuPerRequest * 1000).toFixed(1)} ms CPU each on average; `
      + `CPU ${worst(cpus)}; event loop blocked ${worst(lags)}`);
    expect(fivexx).toEqual([]);
    expect(stalls).toEqual([]);
    await stillServing(g);
  });

  it('multipart floods over the limit, unsigned and to the public form, are refused and memory stays bounded', { timeout: 180_000 }, async () => {
    const before = await metric(g, RSS);
    let peak = before;
    let flooding = true;
    const sampler = (async () => {
      while (flooding) {
        peak = Math.max(peak, await metric(g, RSS).catch(() => peak));
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const target = (path: string, headers: Record<string, string>, size: number, declare: boolean) => upload(g.gw.port, path, headers, size, declare);
    const statuses = await Promise.all([
      ...Array.from({ length: 4 }, (_, i) => target('/webhooks/tg', {}, 20 * 1024 * 1024, i % 2 === 0)),
      ...(helpdesk === 'usedesk' ? Array.from({ length: 4 }, (_, i) => target('/helpdesk/events', {}, 20 * 1024 * 1024, i % 2 === 0)) : []),
      ...Array.from({ length: 8 }, (_, i) => target('/forms/contact', {}, 80 * 1024 * 1024, i % 2 === 0)),
    ]);
    flooding = false;
    await sampler;
    expect(statuses.filter((s) => !['401', '413', 'closed'].includes(s))).toEqual([]);
    const growth = peak - before;
    console.info(`${helpdesk}: RSS ${(before / 2 ** 20).toFixed(0)} MB before, peak ${(peak / 2 ** 20).toFixed(0)} MB under the flood`);
    expect(growth).toBeLessThan(MAX_RSS_GROWTH);
    await stillServing(g);
  });

  if (helpdesk !== 'usedesk') return;

  it('SSRF: loopback, private ranges, IPv6 literals, metadata, a name resolving to 127.0.0.1, a redirect from an allowed host: all refused, the message delivered with a note', { timeout: 120_000 }, async () => {
    const port = new URL(insideUrl).port;
    const targets = [
      `${insideUrl}/latest/meta-data/iam/loopback.json`,
      'http://169.254.169.254/latest/meta-data/metadata.json',
      'http://10.0.0.5/files/private10.pdf',
      'http://192.168.1.10/files/private192.pdf',
      'http://172.16.0.1/files/private172.pdf',
      'http://100.100.100.200/latest/cgnat.json',
      `http://[::1]:${port}/files/ipv6loopback.pdf`,
      `http://[::ffff:127.0.0.1]:${port}/files/mapped.pdf`,
      'http://[fd00:ec2::254]/latest/uniquelocal.json',
      `http://localhost:${port}/files/dnsname.pdf`,
    ];
    const crm = g.routes.find((r) => r.name === 'webhook (hmac)')!;
    const event = { id: 'ssrf-1', from: 'player-ssrf', text: 'Вот мои документы', files: targets.map((url) => ({ url })) };
    expect((await g.send(crm, crm.encode(event, true))).status).toBe(200);
    const note = await waitFor('the ticket with its note', () => {
      const texts = g.ticketTexts();
      return texts.some((t) => t.includes('Вот мои документы')) ? texts.find((t) => t.includes('dnsname.pdf')) : undefined;
    }, 60_000);
    for (const name of ['loopback.json', 'metadata.json', 'private10.pdf', 'private192.pdf', 'private172.pdf', 'cgnat.json', 'ipv6loopback.pdf', 'mapped.pdf', 'uniquelocal.json', 'dnsname.pdf']) {
      expect(note).toMatch(new RegExp(`Attachment "${name.replace('.', '\\.')}" could not be fetched from the channel: [^\\n]*address; only public addresses are fetched`));
    }
    expect(note).toContain('localhost is at 127.0.0.1, a loopback address');

    // An on-premise PBX with private addresses allowed, limited to host localhost: a redirect off it is refused.
    const onprem = { ...crm, path: '/webhooks/onprem', sign: () => ({ 'x-pbx-token': 'onprem-shared-secret-security-01' }) };
    const redirect = { id: 'ssrf-2', from: 'player-onprem', text: 'Запись разговора', files: [{ url: `http://localhost:${filesPort}/redirect/call.mp3` }] };
    expect((await g.send(onprem, onprem.encode(redirect, true))).status).toBe(200);
    const redirectNote = await waitFor('the on-premise ticket note', () => g.ticketTexts().find((t) => t.includes('call.mp3')), 60_000);
    expect(redirectNote).toContain('host 127.0.0.1 is not in the allowed hosts (localhost)');

    // A Twilio recording on Twilio's own (trusted) origin that redirects inside: refused by address.
    g.tw.redirectRecording('RE00000000000000000000000000000077', `${insideUrl}/latest/meta-data/twilio.mp3`);
    const twilioRoute = (path: string) => g.routes.find((r) => r.path === `/webhooks/phone${path}`)!;
    const call = { AccountSid: ACCOUNT, CallSid: 'CA77', From: '+998907770077', To: '+998712000000', Direction: 'inbound', CallStatus: 'ringing', ApiVersion: '2010-04-01' };
    expect((await g.send(twilioRoute(''), twilioRoute('').encode(call, true))).status).toBe(200);
    const recording = { ...call, RecordingSid: 'RE00000000000000000000000000000077', RecordingUrl: g.tw.recordingUrl('RE00000000000000000000000000000077'), RecordingStatus: 'completed', RecordingSource: 'RecordVerb', RecordingDuration: '9' };
    expect((await g.send(twilioRoute('/recording'), twilioRoute('/recording').encode(recording, true))).status).toBe(200);
    const ended = { ...call, CallStatus: 'completed', SequenceNumber: '2', CallDuration: '30', CallbackSource: 'call-progress-events' };
    expect((await g.send(twilioRoute('/status'), twilioRoute('/status').encode(ended, true))).status).toBe(200);
    const twilioNote = await waitFor('the voicemail ticket note', () => g.ticketTexts().find((t) => t.includes('RE00000000000000000000000000000077')), 60_000);
    expect(twilioNote).toContain('127.0.0.1 is a loopback address');

    expect(insideHits).toEqual([]);
  });

  it('a slow attachment (one byte a second) does not hold the message back: delivered, and the note names the file', { timeout: 120_000 }, async () => {
    const crm = g.routes.find((r) => r.name === 'webhook (hmac)')!;
    const onprem = { ...crm, path: '/webhooks/onprem', sign: () => ({ 'x-pbx-token': 'onprem-shared-secret-security-01' }) };
    const slow = { id: 'slow-1', from: 'player-slow', text: 'Выписка по счёту во вложении', files: [{ url: `http://localhost:${filesPort}/statement.pdf` }] };
    expect((await g.send(onprem, onprem.encode(slow, true))).status).toBe(200);
    const texts = await waitFor('the message in the helpdesk', () => {
      const all = g.ticketTexts();
      return all.some((t) => t.includes('Выписка по счёту во вложении')) && all.some((t) => t.includes('statement.pdf')) ? all : undefined;
    }, 90_000);
    const note = texts.find((t) => t.includes('statement.pdf'))!;
    expect(note).toContain('Attachment "statement.pdf" could not be fetched from the channel');
    expect(note).toMatch(/not finished within 1000 ms; gave up after 3 attempts/);
    expect((await metric(g, 'switchboard_dead_letters'))).toBe(0);
  });
});

/**
 * Streams `size` bytes of multipart to `path` (declared in Content-Length, or chunked) until the
 * gateway answers or closes; the status line's code, or 'closed'.
 */
function upload(port: number, path: string, headers: Record<string, string>, size: number, declare: boolean): Promise<string> {
  return new Promise((resolve) => {
    const boundary = 'floodBoundary';
    const req = request({
      host: '127.0.0.1', port, path, method: 'POST',
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, ...(declare ? { 'content-length': String(size) } : {}), ...headers },
    });
    let sent = 0;
    let done = false;
    const chunk = Buffer.alloc(64 * 1024, 'A');
    const head = Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="flood.bin"\r\n\r\n`);
    req.on('response', (res) => {
      done = true;
      res.resume();
      resolve(String(res.statusCode));
      req.destroy();
    });
    req.on('error', () => {
      if (!done) resolve('closed');
      done = true;
    });
    const pump = () => {
      while (!done && sent < size) {
        const piece = sent === 0 ? head : chunk.subarray(0, Math.min(chunk.length, size - sent));
        sent += piece.length;
        if (!req.write(piece)) return void req.once('drain', pump);
      }
      if (!done) req.end();
    };
    pump();
  });
}
