import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeZendesk, type FakeZendesk } from '../fakes/zendesk-server.ts';

/** The fake Zendesk itself: the e2e suite trusts it to behave like Zendesk, so its rules are pinned here. */

const EMAIL = 'api@example.com';
const TOKEN = 'fake-token';
const AUTH = `Basic ${Buffer.from(`${EMAIL}/token:${TOKEN}`).toString('base64')}`;

describe('fake Zendesk', () => {
  let zd: FakeZendesk;
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${zd.url}${path}`, {
      method,
      headers: { authorization: AUTH, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };

  beforeAll(async () => {
    zd = await startFakeZendesk({ email: EMAIL, apiToken: TOKEN });
  });
  afterAll(async () => {
    await zd.close();
  });

  it('refuses wrong credentials with Zendesk’s 401 body', async () => {
    const res = await call('GET', '/api/v2/users/me', undefined, { authorization: 'Basic d3Jvbmc=' });
    expect(res).toMatchObject({ status: 401, json: { error: "Couldn't authenticate you" } });
  });

  it('create_or_update matches by email or external_id, case-insensitively', async () => {
    const a = await call('POST', '/api/v2/users/create_or_update', { user: { name: 'A', external_id: 'Telegram:1' } });
    const b = await call('POST', '/api/v2/users/create_or_update', { user: { name: 'A2', external_id: 'telegram:1' } });
    expect([a.status, b.status]).toEqual([201, 200]);
    expect(b.json.user.id).toBe(a.json.user.id);
    const c = await call('POST', '/api/v2/users/create_or_update', { user: { name: 'C', email: 'C@Example.com' } });
    const d = await call('POST', '/api/v2/users/create_or_update', { user: { name: 'C', email: 'c@example.com' } });
    expect(d.json.user.id).toBe(c.json.user.id);
    expect(zd.users.find((u) => u.id === a.json.user.id)!.name).toBe('A2');
  });

  it('Idempotency-Key: same body → same ticket (hit); different body → 400 IdempotentRequestError', async () => {
    const user = (await call('POST', '/api/v2/users/create_or_update', { user: { name: 'R', external_id: 'idem' } })).json.user.id as number;
    const body = { ticket: { subject: 's', comment: { body: 'hi' }, requester_id: user } };
    const first = await call('POST', '/api/v2/tickets', body, { 'idempotency-key': 'k1' });
    const again = await call('POST', '/api/v2/tickets', body, { 'idempotency-key': 'k1' });
    expect(first.headers.get('x-idempotency-lookup')).toBe('miss');
    expect(again.headers.get('x-idempotency-lookup')).toBe('hit');
    expect(again.json.ticket.id).toBe(first.json.ticket.id);
    const other = await call('POST', '/api/v2/tickets', { ticket: { ...body.ticket, subject: 'changed' } }, { 'idempotency-key': 'k1' });
    expect(other).toMatchObject({ status: 400, json: { error: 'IdempotentRequestError' } });
    expect(zd.tickets.filter((t) => t.requester_id === user)).toHaveLength(1);
  });

  it('unknown priority or type is a 422 RecordInvalid with details per field', async () => {
    const res = await call('POST', '/api/v2/tickets', { ticket: { comment: { body: 'x' }, priority: 'critical', type: 'bug' } });
    expect(res.status).toBe(422);
    expect(res.json).toMatchObject({ error: 'RecordInvalid', details: { priority: [{ description: expect.any(String) }], type: [{ description: expect.any(String) }] } });
  });

  it('updates keep metadata in the audit, add tags, and refuse closed tickets', async () => {
    const created = await call('POST', '/api/v2/tickets', { ticket: { comment: { body: 'x' }, tags: ['a'] } });
    const id = created.json.ticket.id as number;
    await call('PUT', `/api/v2/tickets/${id}.json`, { ticket: { comment: { body: 'y', public: false }, additional_tags: ['B c'], metadata: { switchboard: { message_id: 'm1' } } } });
    const audits = await call('GET', `/api/v2/tickets/${id}/audits`);
    expect(audits.json.audits.at(-1).metadata.custom).toEqual({ switchboard: { message_id: 'm1' } });
    expect(zd.tickets.find((t) => t.id === id)!.tags).toEqual(['a', 'b', 'c']);
    zd.closeTicket(id);
    const refused = await call('PUT', `/api/v2/tickets/${id}`, { ticket: { comment: { body: 'z' } } });
    expect(refused).toMatchObject({ status: 422, json: { details: { status: [{ description: 'Status: closed prevents ticket update' }] } } });
  });

  it('failNext queues failures for writes only, in order; applyFirst performs the write', async () => {
    zd.failNext(1, { status: 500 });
    zd.failNext(1, { status: 429, body: 'slow down', headers: { 'retry-after': '3' } });
    expect((await call('GET', '/api/v2/users/me')).status).toBe(200);
    expect((await call('POST', '/api/v2/tickets', { ticket: { comment: { body: 'x' } } })).status).toBe(500);
    const limited = await fetch(`${zd.url}/api/v2/tickets`, { method: 'POST', headers: { authorization: AUTH, 'content-type': 'application/json' }, body: '{"ticket":{"comment":{"body":"x"}}}' });
    expect([limited.status, limited.headers.get('retry-after'), await limited.text()]).toEqual([429, '3', 'slow down']);
    const before = zd.tickets.length;
    zd.failNext(1, { status: 502, applyFirst: true });
    expect((await call('POST', '/api/v2/tickets', { ticket: { comment: { body: 'applied' } } })).status).toBe(502);
    expect(zd.tickets).toHaveLength(before + 1);
  });
});
