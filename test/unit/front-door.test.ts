import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { HelpdeskInstance, InboundRequest, RouteSpec } from '../../src/core/connector.ts';
import { checkTree, parseForm, parseJson } from '../../src/core/safe-parse.ts';
import { buildApp, type AppDeps } from '../../src/http/app.ts';
import { createMetrics } from '../../src/runtime/metrics.ts';
import type { Runtime } from '../../src/runtime/runtime.ts';
import { silent } from '../fixtures/log.ts';

/**
 * The HTTP layer's front door on a real socket: guards before the body is read or parsed, one
 * byte limit for every content type, parsers that cannot write to a prototype, and a 4xx naming
 * the field for bad input.
 */

const LIMIT = 64 * 1024;

const calls = { handled: [] as InboundRequest[], bodyGuard: [] as Buffer[] };
let app: FastifyInstance;
/** The ingress share's turn (see IngressShare): resolved unless a test holds it, as a busy worker would. */
let turn: Promise<void> = Promise.resolve();
/** The routes' waiting lines webhooks asked for a turn in, and whether those lines are full. */
const lines = { asked: [] as string[], full: false };
let port: number;

const route = (path: string, extra: Partial<RouteSpec> = {}): RouteSpec => ({
  method: 'POST',
  path,
  handler: async (req) => {
    calls.handled.push(req);
    return { status: 200, body: { ok: true } };
  },
  ...extra,
});

beforeAll(async () => {
  const helpdesk = { kind: 'stub', agentEventGuard: { head: () => ({ status: 401, body: { error: 'no agents here' } }) } } as unknown as HelpdeskInstance;
  app = await buildApp({
    runtime: { ping: async () => {}, enqueue: async () => [], admit: async (line: string, handle: () => Promise<unknown>, full: () => unknown) => {
      lines.asked.push(line);
      if (lines.full) return full();
      await turn;
      return handle();
    } } as unknown as Runtime,
    helpdesk,
    channels: [{
      id: 'door',
      kind: 'test',
      status: () => ({ ready: true }),
      routes: [
        route('/open'),
        route('/secret', { guard: { head: (req) => (req.headers['x-secret'] === 'letmein' ? undefined : { status: 401, body: { error: 'missing or wrong x-secret header' } }) } }),
        route('/signed', {
          guard: {
            body: (_req, raw) => {
              calls.bodyGuard.push(raw);
              return raw.toString().includes('"signed":true') ? undefined : { status: 401, body: { error: 'bad signature' } };
            },
          },
        }),
        route('/query', { method: 'GET' }),
      ],
    }],
    metrics: createMetrics('stub'),
    log: silent,
    bodyLimit: LIMIT,
    // No admin token: /admin only says how to turn the console on, and uses none of these.
    admin: {} as AppDeps['admin'],
  });
  await app.listen({ port: 0, host: '127.0.0.1' });
  port = (app.server.address() as { port: number }).port;
});
afterAll(() => app.close());
beforeEach(() => {
  calls.handled.length = 0;
  calls.bodyGuard.length = 0;
  lines.asked.length = 0;
});

const url = (path: string) => `http://127.0.0.1:${port}/webhooks/door${path}`;
const post = (path: string, body: string | FormData, headers: Record<string, string> = {}) =>
  fetch(url(path), { method: 'POST', body, headers }).then(async (r) => ({ status: r.status, body: await r.json() as Record<string, unknown> }));

/**
 * Sends the head of a request announcing `declared` bytes and then a trickle of body; resolves
 * with the status line once the server answers, and how many body bytes had gone out by then.
 */
function uploadUntilAnswered(path: string, headers: Record<string, string>, declared: number): Promise<{ statusLine: string; sent: number; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let sent = 0;
    let answer = '';
    let timer: NodeJS.Timeout | undefined;
    const head = [`POST /webhooks/door${path} HTTP/1.1`, 'host: x', `content-length: ${declared}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
    socket.on('connect', () => {
      socket.write(head);
      timer = setInterval(() => {
        if (sent >= declared || socket.destroyed) return;
        const chunk = Buffer.alloc(Math.min(16 * 1024, declared - sent), 'a');
        sent += chunk.length;
        socket.write(chunk);
      }, 5);
    });
    socket.on('data', (d) => (answer += d.toString()));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearInterval(timer);
      resolve({ statusLine: answer.split('\r\n')[0] ?? '', sent, closed: true });
    });
    setTimeout(() => reject(new Error(`no answer; sent ${sent}`)), 20_000).unref();
  });
}

describe('front door: the sender is checked before the body costs anything', () => {
  it('a head guard refuses before the body is read, and closes the connection on the upload', async () => {
    const declared = 50 * 1024 * 1024;
    const res = await uploadUntilAnswered('/secret', { 'content-type': 'multipart/form-data; boundary=x' }, declared);
    expect(res.statusLine).toBe('HTTP/1.1 401 Unauthorized');
    expect(res.sent).toBeLessThan(declared / 10);
    expect(calls.handled).toEqual([]);
  });

  it('a body guard sees the exact bytes before anything is parsed; a refused body is never parsed', async () => {
    const refused = await post('/signed', '{"signed":false,"__proto__":{"x":1}}', { 'content-type': 'application/json' });
    // 401 from the signature check, not 400 from the parser: the parser never ran.
    expect(refused.status).toBe(401);
    const ok = await post('/signed', '{"signed":true}', { 'content-type': 'application/json' });
    expect(ok.status).toBe(200);
    expect(calls.bodyGuard.map((b) => b.toString())).toEqual(['{"signed":false,"__proto__":{"x":1}}', '{"signed":true}']);
    expect(calls.handled[0]!.body).toEqual({ signed: true });
  });

  it('a body that fails its signature is refused without waiting for a turn with the deliveries', async () => {
    let release!: () => void;
    turn = new Promise((r) => (release = r));
    try {
      const waiting = post('/signed', '{"signed":true}', { 'content-type': 'application/json' });
      expect((await post('/signed', '{"signed":false}', { 'content-type': 'application/json' })).status).toBe(401);
      expect(calls.handled).toEqual([]);
      release();
      expect((await waiting).status).toBe(200);
    } finally {
      release();
      turn = Promise.resolve();
    }
  });

  it('a webhook whose route has too many waiting for a turn is answered 503 with Retry-After, unhandled (the channel sends it again)', async () => {
    lines.full = true;
    try {
      const res = await fetch(url('/signed'), { method: 'POST', body: '{"signed":true}', headers: { 'content-type': 'application/json' } });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
      expect(await res.json()).toMatchObject({ error: 'busy' });
      expect(calls.handled).toEqual([]);
      // Each route waits in its own line (an unsigned route's flood cannot fill a vendor's).
      expect(lines.asked).toEqual(['door']);
    } finally {
      lines.full = false;
    }
    expect((await post('/signed', '{"signed":true}', { 'content-type': 'application/json' })).status).toBe(200);
  });

  it('an empty body still goes through the body guard', async () => {
    const res = await fetch(url('/signed'), { method: 'POST' });
    expect(res.status).toBe(401);
    expect(calls.bodyGuard).toEqual([Buffer.alloc(0)]);
  });

  it('the helpdesk route runs the helpdesk guard', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/helpdesk/events`, { method: 'POST', body: '__proto__[x]=1&comment[ticket_id]=1', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(res.status).toBe(401);
    expect(({} as Record<string, unknown>)['x']).toBeUndefined();
  });
});

describe('front door: one byte limit for every content type', () => {
  it('a declared length over the limit is refused unread, multipart included', async () => {
    const res = await uploadUntilAnswered('/open', { 'content-type': 'multipart/form-data; boundary=x' }, 80 * 1024 * 1024);
    expect(res.statusLine).toBe('HTTP/1.1 413 Payload Too Large');
    expect(res.sent).toBeLessThan(8 * 1024 * 1024);
    expect(calls.handled).toEqual([]);
  });

  it('a chunked upload is cut off once it passes the limit', async () => {
    const form = new FormData();
    for (let i = 0; i < 5; i++) form.append(`f${i}`, new Blob([Buffer.alloc(LIMIT / 2)]), `f${i}.bin`);
    const res = await fetch(url('/open'), { method: 'POST', body: form }).catch((e: unknown) => e);
    // Either the 413 arrives, or the server closed the socket on the rest of the upload.
    if (res instanceof Response) expect(res.status).toBe(413);
    expect(calls.handled).toEqual([]);
  });

  it('a multipart body within the limit reaches the route as fields and files', async () => {
    const form = new FormData();
    form.append('message', 'Вывод не пришёл');
    form.append('tag', 'a');
    form.append('tag', 'b');
    form.append('scan', new Blob([Buffer.from('%PDF-1.4')], { type: 'application/pdf' }), 'scan.pdf');
    const res = await fetch(url('/open'), { method: 'POST', body: form });
    expect(res.status).toBe(200);
    const req = calls.handled[0]!;
    expect({ ...(req.body as object) }).toEqual({ message: 'Вывод не пришёл', tag: ['a', 'b'] });
    expect(Object.getPrototypeOf(req.body)).toBeNull();
    expect(req.files.map((f) => [f.field, f.filename, f.mime, f.data.toString()])).toEqual([['scan', 'scan.pdf', 'application/pdf', '%PDF-1.4']]);
  });
});

describe('front door: bad input is a 4xx naming the field', () => {
  it('poisoned keys in JSON, forms, multipart field names and queries', async () => {
    const cases: [string, string | FormData, Record<string, string>][] = [
      ['/open', '{"a":{"__proto__":{"x":1}}}', { 'content-type': 'application/json' }],
      ['/open', '{"constructor":{"prototype":{"x":1}}}', { 'content-type': 'application/json' }],
      ['/open', '__proto__[x]=1&comment[ticket_id]=1', { 'content-type': 'application/x-www-form-urlencoded' }],
      ['/open', 'a.constructor.prototype.x=1', { 'content-type': 'application/x-www-form-urlencoded' }],
      ['/open?__proto__=x', '{}', { 'content-type': 'application/json' }],
    ];
    const form = new FormData();
    form.append('__proto__', 'x');
    cases.push(['/open', form, {}]);
    for (const [path, body, headers] of cases) {
      const res = await post(path, body, headers);
      expect(res.status, String(body)).toBe(400);
      expect(String(res.body['message'])).toMatch(/(__proto__|constructor|prototype).* is a key that is not accepted/);
    }
    expect(({} as Record<string, unknown>)['x']).toBeUndefined();
    expect(calls.handled).toEqual([]);
  });

  it('a repeated query parameter is refused, never handed on as a list', async () => {
    const res = await fetch(`${url('/query')}?token=a&token=b`);
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ field: 'query parameter token', message: 'query parameter token is given more than once' });
  });

  it('JSON nested 10,000 levels deep is a 400, not a 5xx that would be redelivered forever', async () => {
    const deep = `${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`;
    const res = await post('/open', deep, { 'content-type': 'application/json' });
    expect(res.status).toBe(400);
    expect(String(res.body['message'])).toContain('nests deeper than 64 levels');
  });

  it('a multipart body with a bad or missing boundary is a 400', async () => {
    for (const type of ['multipart/form-data', 'multipart/form-data; boundary=']) {
      const res = await post('/open', '--x\r\ncontent-disposition: form-data; name="a"\r\n\r\n1\r\n--x--', { 'content-type': type });
      expect(res.status, type).toBe(400);
      expect(res.body['field']).toBeDefined();
    }
  });

  it('broken JSON is a 400 naming the body', async () => {
    const res = await post('/open', '{"a":', { 'content-type': 'application/json' });
    expect(res).toMatchObject({ status: 400, body: { field: 'body' } });
  });
});

describe('safe parsers', () => {
  it('forms become null-prototype records; a repeated field a list', () => {
    const parsed = parseForm('a=1&b=2&a=3');
    expect(parsed.ok && Object.getPrototypeOf(parsed.value)).toBeNull();
    expect(parsed.ok && { ...parsed.value }).toEqual({ a: ['1', '3'], b: '2' });
  });

  it('JSON keys and depth are checked anywhere in the tree, with the path', () => {
    expect(parseJson('{"a":[{"b":{"prototype":1}}]}')).toEqual({ ok: false, field: 'a.0.b.prototype', error: expect.stringContaining('not accepted') });
    expect(checkTree({ a: { b: { c: 1 } } }, 2)).toMatchObject({ field: 'a.b', error: 'nests deeper than 2 levels' });
    expect(parseJson('{"ok":[1,2,{"x":"y"}]}')).toEqual({ ok: true, value: { ok: [1, 2, { x: 'y' }] } });
  });
});

describe('front door: a channel admin route during a storm', () => {
  const ADMIN = 'admin-token-for-the-front-door-test';
  let admin: FastifyInstance;
  let adminPort: number;
  const asked: string[] = [];
  beforeAll(async () => {
    admin = await buildApp({
      // Every line is full, as in a storm that has filled the channel's waiting line.
      runtime: { ping: async () => {}, enqueue: async () => [], admit: async (line: string, _handle: () => Promise<unknown>, full: () => unknown) => {
        asked.push(line);
        return full();
      } } as unknown as Runtime,
      helpdesk: { kind: 'stub' } as unknown as HelpdeskInstance,
      channels: [{
        id: 'wa',
        kind: 'test',
        status: () => ({ ready: true }),
        routes: [route('/qr', { method: 'GET', prefix: 'admin' }), route('')],
      }],
      metrics: createMetrics('stub'),
      log: silent,
      bodyLimit: LIMIT,
      admin: { tokens: { admin: ADMIN } } as AppDeps['admin'],
    });
    await admin.listen({ port: 0, host: '127.0.0.1' });
    adminPort = (admin.server.address() as { port: number }).port;
  });
  afterAll(() => admin.close());

  it("is answered while the channel's webhooks get 503: the on-call can still link the account", async () => {
    const webhook = await fetch(`http://127.0.0.1:${adminPort}/webhooks/wa`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } });
    expect(webhook.status).toBe(503);
    expect(asked).toEqual(['wa']);
    const qr = await fetch(`http://127.0.0.1:${adminPort}/admin/channels/wa/qr`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(qr.status).toBe(200);
    expect(asked).toEqual(['wa']);
    // Still behind the admin's access rules.
    expect((await fetch(`http://127.0.0.1:${adminPort}/admin/channels/wa/qr`)).status).toBe(401);
  });
});
