import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import QRCode from 'qrcode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { registry } from '../../connectors/registry.ts';
import { defineChannel } from '../../src/core/connector.ts';
import { startGateway, type Gateway } from '../../src/gateway.ts';
import { REPO, tempDir, waitFor } from '../e2e/harness.ts';

/**
 * Who gets into /admin and what they may do, tried the way an attacker would, against a real
 * gateway (in this process, requests through Fastify's inject): guessing the token, forged and
 * stolen cookies, forms without or with someone else's CSRF token, a form from another site,
 * open redirects after login, huge and poisoned forms, markup in what is shown.
 */

const ADMIN = 'admin-token-access-0123456789';
const VIEWER = 'viewer-token-access-0123456789';

/** A channel waiting for its QR code to be scanned, as whatsapp-web does before linking. */
const qrChannel = defineChannel({
  kind: 'qr-test',
  medium: 'messenger',
  sends: ['text'],
  options: z.object({}),
  create: () => ({
    routes: [{
      method: 'GET',
      prefix: 'admin',
      path: '/qr',
      handler: async () => ({ status: 200, body: await QRCode.toBuffer('2@test-code', { type: 'png' }), headers: { 'content-type': 'image/png' } }),
    }],
    status: () => ({ ready: false, state: 'waiting', detail: 'qr: scan the code' }),
    send: async () => ({ externalIds: [] }),
    fetchAttachment: async () => {
      throw new Error('none');
    },
  }),
});

async function gateway(dir: string, tokens: string): Promise<Gateway> {
  const file = join(dir, 'switchboard.yaml');
  await writeFile(file, `
server: { host: 127.0.0.1, trustProxy: true${tokens} }
store: { kind: embedded, path: ${dir}/data }
log: { level: silent }
helpdesk: { kind: jsonl, path: ${dir}/tickets.jsonl }
channels:
  contact:
    kind: webform
    fields: { email: { type: email, required: true }, message: { required: true } }
  wa:
    kind: qr-test
include: [${REPO}config/rules/igaming.yaml]
`);
  return startGateway({ configFile: file, registry: { ...registry, channels: [...registry.channels, qrChannel] }, port: 0, env: {} });
}

type Res = { statusCode: number; headers: Record<string, unknown>; body: string };

let browsers = 0;

/** A browser's cookie jar, just enough: the cookies the gateway set, sent back; each from an address of its own. */
class Browser {
  cookies = new Map<string, string>();
  readonly ip = `198.51.100.${++browsers}`;
  private readonly gw: Gateway;
  constructor(gw: Gateway) {
    this.gw = gw;
  }
  async request(method: string, url: string, o: { form?: Record<string, string> | string; headers?: Record<string, string> } = {}): Promise<Res> {
    const body = typeof o.form === 'string' ? o.form : o.form ? new URLSearchParams(o.form).toString() : undefined;
    const res = await this.gw.app.inject({
      method: method as 'GET',
      url,
      headers: {
        ...(this.cookies.size > 0 ? { cookie: [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') } : {}),
        ...(body !== undefined ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        'x-forwarded-for': this.ip,
        ...o.headers,
      },
      payload: body,
    });
    const set = res.headers['set-cookie'];
    for (const c of (Array.isArray(set) ? set : set ? [set] : []) as string[]) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      const value = pair!.slice(eq + 1);
      if (value === '') this.cookies.delete(pair!.slice(0, eq));
      else this.cookies.set(pair!.slice(0, eq), value);
    }
    return { statusCode: res.statusCode, headers: res.headers, body: res.body };
  }
  async login(token: string, next = '/admin'): Promise<Res> {
    return this.request('POST', '/admin/login', { form: { token, next } });
  }
  /** The CSRF token the page put in its last form (the page's own, after the logout form in the header). */
  async csrf(url = '/admin/rules'): Promise<string> {
    const page = await this.request('GET', url);
    const all = [...page.body.matchAll(/name="_csrf" value="([^"]+)"/g)].map((m) => m[1]!);
    expect(new Set(all).size, 'one token per page').toBe(1);
    return all.at(-1)!;
  }
}

describe('who may do what under /admin', () => {
  let dir: { path: string; remove(): Promise<void> };
  let gw: Gateway;

  beforeAll(async () => {
    dir = await tempDir('switchboard-access-');
    gw = await gateway(dir.path, `, adminToken: ${ADMIN}, viewerToken: ${VIEWER}`);
  });
  afterAll(async () => {
    await gw?.close();
    await dir?.remove();
  });

  it('sends a visitor without a session to the login page, and a script without a token gets 401', async () => {
    const b = new Browser(gw);
    const page = await b.request('GET', '/admin/dead-letters?age=1h');
    expect(page.statusCode).toBe(303);
    expect(page.headers.location).toBe('/admin/login?next=%2Fadmin%2Fdead-letters%3Fage%3D1h');
    const api = await b.request('GET', '/admin/dlq');
    expect(api.statusCode).toBe(401);
    expect(JSON.parse(api.body).error).toBe('unauthorized');
    expect((await b.request('GET', '/admin/dlq', { headers: { authorization: 'Bearer wrong-token-0123456789' } })).statusCode).toBe(401);
  });

  it('issues an HttpOnly, SameSite=Strict session cookie (Secure behind TLS) and follows only same-site paths after login', async () => {
    const b = new Browser(gw);
    const ok = await b.request('POST', '/admin/login', { form: { token: ADMIN, next: '/admin/dead-letters?age=1h' }, headers: { 'x-forwarded-proto': 'https' } });
    expect(ok.statusCode).toBe(303);
    expect(ok.headers.location).toBe('/admin/dead-letters?age=1h');
    const cookie = (ok.headers['set-cookie'] as string[] | string).toString();
    expect(cookie).toMatch(/sb_session=[^;]+; Max-Age=28800; Path=\/admin; HttpOnly; Secure; SameSite=Strict/);
    for (const next of ['//evil.example/x', '/\\evil.example', 'https://evil.example/admin', '/admin@evil.example', 'javascript:alert(1)', '/elsewhere', '/administrator']) {
      const res = await new Browser(gw).login(ADMIN, next);
      expect([next, res.headers.location]).toEqual([next, '/admin']);
    }
  });

  it('rate-limits guessing the token, and the gateway keeps serving', async () => {
    const b = new Browser(gw);
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) statuses.push((await b.request('POST', '/admin/login', { form: { token: `guess-${i}-0123456789abcdef` }, headers: { 'x-forwarded-for': '203.0.113.9' } })).statusCode);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(statuses.slice(10)).toEqual([429, 429]);
    const limited = await b.request('POST', '/admin/login', { form: { token: ADMIN }, headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(limited.statusCode).toBe(429);
    expect(limited.body).toContain('too many attempts');
    // Another address still gets in; the webhooks never noticed.
    expect((await new Browser(gw).login(ADMIN)).statusCode).toBe(303);
    expect((await gw.app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });

  it('refuses a forged cookie, a form without the CSRF token, another session\'s token and a form from another site', async () => {
    const a = new Browser(gw);
    await a.login(ADMIN);
    const tokenA = await a.csrf();
    const b = new Browser(gw);
    await b.login(ADMIN);
    const form = { channel: 'contact', text: 'hello', _csrf: tokenA };

    // The viewer's cookie with its role changed to admin: the signature no longer matches.
    const v = new Browser(gw);
    await v.login(VIEWER);
    const signed = v.cookies.get('sb_session')!;
    v.cookies.set('sb_session', signed.replace(/^viewer\./, 'admin.'));
    expect((await v.request('GET', '/admin/dlq')).statusCode).toBe(401);

    expect((await a.request('POST', '/admin/rules', { form: { channel: 'contact', text: 'hello' } })).statusCode).toBe(403);
    expect((await b.request('POST', '/admin/rules', { form })).statusCode).toBe(403);
    const stranger = new Browser(gw);
    expect((await stranger.request('POST', '/admin/rules', { form })).statusCode).toBe(401);
    const crossSite = await a.request('POST', '/admin/rules', { form, headers: { origin: 'http://evil.example' } });
    expect(crossSite.statusCode).toBe(403);
    expect(crossSite.body).toContain('another site');
    const ok = await a.request('POST', '/admin/rules', { form, headers: { origin: 'http://localhost:80' } });
    expect(ok.statusCode).toBe(200);
  });

  it('lets the viewer look and test rules but not replay, drop or run channel actions', async () => {
    const v = new Browser(gw);
    await v.login(VIEWER);
    const csrf = await v.csrf();
    const dlq = await v.request('GET', '/admin/dead-letters');
    expect(dlq.statusCode).toBe(200);
    expect(dlq.body).not.toContain('Replay selected');
    expect((await v.request('POST', '/admin/rules', { form: { channel: 'contact', text: 'вывод не пришёл', _csrf: csrf } })).statusCode).toBe(200);
    for (const url of ['/admin/dead-letters/replay', '/admin/dead-letters/drop', '/admin/helpdesk/check', '/admin/channels/wa/actions/x']) {
      expect([url, (await v.request('POST', url, { form: { scope: 'matching', _csrf: csrf } })).statusCode]).toEqual([url, 403]);
    }
    expect((await v.request('GET', '/admin/dlq', { headers: {} })).statusCode).toBe(200);
    expect((await gw.app.inject({ method: 'POST', url: '/admin/dlq/all/replay', headers: { authorization: `Bearer ${VIEWER}` } })).statusCode).toBe(403);
    expect((await gw.app.inject({ method: 'POST', url: '/admin/dlq/all/replay', headers: { authorization: `Bearer ${ADMIN}` } })).statusCode).toBe(200);
  });

  it('answers huge and poisoned forms with 4xx naming the problem, and shows markup as text', async () => {
    const a = new Browser(gw);
    await a.login(ADMIN);
    const csrf = await a.csrf();
    expect((await a.request('POST', '/admin/rules', { form: { channel: 'contact', text: 'x'.repeat(1_000_000), _csrf: csrf } })).statusCode).toBe(413);
    expect((await new Browser(gw).request('POST', '/admin/login', { form: { token: 'y'.repeat(100_000) } })).statusCode).toBe(413);
    const poisoned = await a.request('POST', '/admin/rules', { form: `__proto__[polluted]=1&constructor[prototype][polluted]=1&_csrf=${encodeURIComponent(csrf)}` });
    expect(poisoned.statusCode).toBe(400);
    // Refused by the gateway's parsers before the form is read, naming the key (docs/security.md).
    expect(poisoned.body).toContain('__proto__[polluted] is a key that is not accepted');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    const markup = await a.request('POST', '/admin/rules', { form: { channel: 'contact', text: '<script>alert(1)</script> вывод', _csrf: csrf } });
    expect(markup.statusCode).toBe(200);
    expect(markup.body).not.toContain('<script>alert(1)');
    expect(markup.body).toContain('&#60;script&#62;alert(1)');
    const unknownChannel = await a.request('POST', '/admin/rules', { form: { channel: 'nope', text: 'hi', _csrf: csrf } });
    expect(unknownChannel.statusCode).toBe(400);
    expect(unknownChannel.body).toContain('no channel');
  });

  it('drops a dead letter only after a confirmation, and its conversation shows the failure', async () => {
    // A reply for a conversation that has no ticket: dead-lettered at once, with the reason.
    await gw.runtime.enqueue([{ dedupeKey: 'reply:x', lane: 'out:contact:visitor-7', target: 'channel:contact', payload: { kind: 'reply', reply: { ticketId: '999', commentId: '1', text: 'Salom!', attachments: [] } } }]);
    const dead = await waitFor('the dead letter', async () => (await gw.runtime.dlq.list())[0]);
    const a = new Browser(gw);
    await a.login(ADMIN);
    const list = await a.request('GET', '/admin/dead-letters?channel=contact&error=no+conversation');
    expect(list.body).toContain(`data-dead-letter="${dead.id}"`);
    expect((await a.request('GET', '/admin/dead-letters?age=over7d')).body).not.toContain(dead.id);
    const csrf = await a.csrf('/admin/dead-letters');
    const asked = await a.request('POST', '/admin/dead-letters/drop', { form: { id: dead.id, _csrf: csrf } });
    expect(asked.statusCode).toBe(200);
    expect(asked.body).toContain('Drop 1 dead letter(s) for good?');
    expect(await gw.runtime.dlq.get(dead.id)).toBeDefined();
    const done = await a.request('POST', '/admin/dead-letters/drop', { form: { id: dead.id, confirm: 'yes', _csrf: csrf } });
    expect(done.body).toContain('Dropped 1 dead letter(s).');
    expect(await gw.runtime.dlq.get(dead.id)).toBeUndefined();
    const path = await a.request('GET', '/admin/conversations?q=contact%3Avisitor-7');
    expect(path.body).toContain('data-event="failed"');
    expect(path.body).toContain('no conversation is linked to ticket 999');
  });

  it('forbids framing and inline script on every console page', async () => {
    const a = new Browser(gw);
    await a.login(ADMIN);
    for (const url of ['/admin', '/admin/login', '/admin/dead-letters', '/admin/rules', '/admin/conversations', '/admin/linking']) {
      const res = await (url === '/admin/login' ? new Browser(gw) : a).request('GET', url);
      expect([url, res.statusCode]).toEqual([url, 200]);
      expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(res.headers['content-security-policy']).toContain("script-src 'self'");
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.body).not.toMatch(/<script>|\son[a-z]+=/i);
      // The console's own markup is never escaped into text by a missing `!` in a template.
      expect(res.body).not.toMatch(/&#60;\/?(span|div|a|p|dl|dt|dd|tr|td|th|form|input|button|time|strong|li|section|h2)[ &]/);
    }
  });

  it('shows the QR code of a channel waiting to be linked, to a logged-in browser', async () => {
    const a = new Browser(gw);
    await a.login(ADMIN);
    const page = await a.request('GET', '/admin/linking');
    const src = /<img class="qr" src="([^"]+)"/.exec(page.body)?.[1]?.replace(/&#61;/g, '=');
    expect(src).toMatch(/^\/admin\/channels\/wa\/qr\?t=\d+$/);
    const png = await a.request('GET', src!);
    expect(png.statusCode).toBe(200);
    expect(png.headers['content-type']).toBe('image/png');
    expect((await new Browser(gw).request('GET', src!)).statusCode).toBe(401);
  });
});

describe('/admin without an admin token', () => {
  it('is a page that says how to turn the console on, and the API stays closed', async () => {
    const dir = await tempDir('switchboard-access-off-');
    const gw = await gateway(dir.path, '');
    try {
      for (const url of ['/admin', '/admin/login', '/admin/dlq']) {
        const res = await gw.app.inject({ method: 'GET', url, headers: { authorization: 'Bearer anything-at-all-0123456789' } });
        expect([url, res.statusCode]).toEqual([url, 403]);
        expect(res.body).toContain('server.adminToken');
      }
      expect((await gw.app.inject({ method: 'POST', url: '/admin/dlq/all/replay' })).statusCode).toBe(404);
    } finally {
      await gw.close();
      await dir.remove();
    }
  });
});
