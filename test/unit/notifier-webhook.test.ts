import { createHmac } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Notice } from '../../src/core/connector.ts';
import { DeliveryError } from '../../src/core/errors.ts';
import { definition as webhookNotifier, excerpt } from '../../connectors/notifiers/webhook/index.ts';
import { memoryKv } from '../../src/runtime/memory-kv.ts';
import { silent as log } from '../fixtures/log.ts';

const SECRET = 'notice-signing-secret-0123456789';
const kv = memoryKv();

interface Received {
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const notice: Notice = {
  target: 'antifraud',
  ticketId: '77',
  ticketUrl: 'https://acme.zendesk.com/agent/tickets/77',
  rules: ['chargeback', 'vip'],
  priority: 'high',
  tags: ['payments'],
  channel: { id: 'contact', kind: 'webform' },
  senderName: 'ivan@example.com',
  text: 'Списали дважды с карты 5500 0000 0000 0004, мой номер +7 916 123-45-67',
};

describe('webhook notifier', () => {
  let server: Server;
  let base: string;
  const received: Received[] = [];
  const answers: { status: number; headers?: Record<string, string>; body?: string }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        const a = answers.shift() ?? { status: 204 };
        res.writeHead(a.status, a.headers).end(a.body ?? '');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));
  beforeEach(() => {
    received.length = 0;
    answers.length = 0;
  });

  const create = (over: Record<string, unknown> = {}) =>
    webhookNotifier.create(webhookNotifier.options.parse({ url: `${base}/hooks/default`, secret: SECRET, ...over }), { log, kv });

  it('posts the notice as JSON, signed over timestamp and body, with personal data masked', async () => {
    const n = await create({ headers: { 'X-Team': 'antifraud' } });
    await n.send(notice, { attempt: 1, reconcile: false, idempotencyKey: 'job-9' });
    expect(received).toHaveLength(1);
    const r = received[0]!;
    expect(r.path).toBe('/hooks/default');
    const ts = String(r.headers['x-switchboard-timestamp']);
    const expected = `v1=${createHmac('sha256', SECRET).update(`${ts}.${r.body}`).digest('hex')}`;
    expect(r.headers['x-switchboard-signature']).toBe(expected);
    expect(r.headers['idempotency-key']).toBe('job-9');
    expect(r.headers['x-team']).toBe('antifraud');
    const body = JSON.parse(r.body);
    expect(body).toMatchObject({
      type: 'switchboard.notice',
      id: 'job-9',
      target: 'antifraud',
      ticket: { id: '77', url: 'https://acme.zendesk.com/agent/tickets/77' },
      priority: 'high',
      tags: ['payments'],
      rules: ['chargeback', 'vip'],
      channel: { id: 'contact', kind: 'webform' },
    });
    expect(body.excerpt).toContain('**** **** **** 0004');
    expect(r.body).not.toContain('5500 0000 0000 0004');
    expect(r.body).not.toContain('916 123-45-67');
    expect(r.body).not.toContain('ivan@example.com');
  });

  it('sends a target to its own URL when one is configured', async () => {
    const n = await create({ targets: { antifraud: `${base}/hooks/antifraud` } });
    await n.send(notice, { attempt: 1, reconcile: false, idempotencyKey: 'job-10' });
    expect(received[0]!.path).toBe('/hooks/antifraud');
  });

  it('sorts failures: 4xx permanent with the body verbatim, 5xx retry, 429 rate limited with Retry-After', async () => {
    const n = await create();
    const ctx = { attempt: 1, reconcile: false, idempotencyKey: 'job-11' };
    answers.push({ status: 410, body: 'hook deleted' }, { status: 502, body: 'bad gateway' }, { status: 429, headers: { 'retry-after': '30' } });
    const errs: DeliveryError[] = [];
    for (let i = 0; i < 3; i++) errs.push(await n.send(notice, ctx).then(() => { throw new Error('expected failure'); }, (e: DeliveryError) => e));
    expect(errs.map((e) => e.kind)).toEqual(['permanent', 'retry', 'rate_limited']);
    expect(errs[0]!.detail).toBe('hook deleted');
    expect(errs[2]!.retryAfterMs).toBe(30_000);
  });

  it('refuses a short secret at config load', () => {
    const r = webhookNotifier.options.safeParse({ url: 'https://x.example/h', secret: 'short' });
    expect(r.success).toBe(false);
  });

  it('cuts the excerpt after masking, so a card number is never half visible', () => {
    const text = `${'слово '.repeat(8)}4111 1111 1111 1111 конец`;
    const e = excerpt(text, 60);
    expect(e.length).toBeLessThanOrEqual(60);
    expect(e).not.toMatch(/4111/);
  });
});
