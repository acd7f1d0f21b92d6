import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A helpdesk that answers at once: the few Zendesk endpoints the connector uses for plain
 * text messages (requester upsert, ticket create, ticket update), with constant-time state.
 * It records when each `bench-<n>` message arrived, so the harness can measure the gateway's
 * added latency. Runs as its own process: `node bench/fake-helpdesk.ts` prints its URL.
 *
 *   GET  /bench/stats     {"comments": n, "requests": n}
 *   GET  /bench/arrivals  {"<n>": arrivedAtMs, …}
 *   GET  /bench/arrival-requests  {"<n>": number of the request that brought it, …}
 *   POST /bench/reset
 *   POST /bench/hold      stop answering (requests wait) until
 *   POST /bench/release   answers everything held and goes on answering at once
 */

let users = 0;
let tickets = 0;
let comments = 0;
let requests = 0;
const userIds = new Map<string, number>();
let arrivals = new Map<string, number>();
/** The number of the helpdesk request that brought each message. */
let arrivalRequests = new Map<string, number>();

let holding = false;
let held: (() => void)[] = [];

function record(body: unknown): void {
  const comment = (body as { ticket?: { comment?: { body?: string; public?: boolean } } })?.ticket?.comment;
  const text = comment?.body;
  if (typeof text !== 'string') return;
  if (comment?.public === false) return;
  comments++;
  const at = Date.now();
  for (const m of text.matchAll(/bench-(\d+)/g)) {
    arrivals.set(m[1]!, at);
    arrivalRequests.set(m[1]!, requests);
  }
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const url = req.url ?? '/';
    const send = (status: number, body: unknown) => {
      const raw = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(raw) });
      res.end(raw);
    };
    if (url === '/bench/stats') return send(200, { comments, requests, tickets, users });
    if (url === '/bench/arrivals') return send(200, Object.fromEntries(arrivals));
    if (url === '/bench/arrival-requests') return send(200, Object.fromEntries(arrivalRequests));
    if (url === '/bench/reset') {
      arrivals = new Map();
      arrivalRequests = new Map();
      comments = 0;
      requests = 0;
      return send(200, { ok: true });
    }
    if (url === '/bench/hold') {
      holding = true;
      return send(200, { ok: true });
    }
    if (url === '/bench/release') {
      holding = false;
      const waiting = held;
      held = [];
      for (const release of waiting) release();
      return send(200, { released: waiting.length });
    }
    if (holding) {
      held.push(() => answer(req.method ?? 'GET', url, chunks, send));
      return;
    }
    answer(req.method ?? 'GET', url, chunks, send);
  });
});

/** The Zendesk endpoints the connector uses for plain text messages. */
function answer(method: string, url: string, chunks: Buffer[], send: (status: number, body: unknown) => void): void {
  requests++;
  let body: unknown;
  try {
    body = chunks.length > 0 ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
  } catch {
    return send(400, { error: 'InvalidJSON' });
  }
  if (method === 'POST' && url.startsWith('/api/v2/users/create_or_update')) {
    const key = String((body as { user?: { external_id?: string } })?.user?.external_id ?? users);
    let id = userIds.get(key);
    if (id === undefined) userIds.set(key, (id = 1000 + ++users));
    return send(200, { user: { id, name: 'Player', role: 'end-user' } });
  }
  if (method === 'POST' && url.startsWith('/api/v2/tickets')) {
    record(body);
    return send(201, { ticket: { id: ++tickets, status: 'new', priority: null, requester_id: null } });
  }
  const put = /^\/api\/v2\/tickets\/(\d+)/.exec(url);
  if (put && method === 'PUT') {
    record(body);
    return send(200, { ticket: { id: Number(put[1]), status: 'open', priority: null } });
  }
  if (put && method === 'GET') return send(200, { ticket: { id: Number(put[1]), status: 'open', priority: null } });
  return send(404, { error: 'InvalidEndpoint' });
}

server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  console.log(JSON.stringify({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }));
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
