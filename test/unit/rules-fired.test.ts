import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { NormalizedMessage } from '../../src/core/message.ts';
import { createPipeline, ruleTag, type Pipeline } from '../../src/core/pipeline.ts';
import { compileRules } from '../../src/core/rules/engine.ts';
import type { Rule } from '../../src/core/rules/schema.ts';
import { definition as zendesk, ZendeskOptions } from '../../connectors/helpdesks/zendesk/index.ts';
import { startFakeZendesk, type FakeZendesk } from '../fakes/zendesk-server.ts';
import { memoryKv } from '../../src/runtime/memory-kv.ts';
import { deliverInbound, memoryLinks, quietChannel, telegramText } from '../fixtures/pipeline.ts';
import { silent } from '../fixtures/log.ts';

/**
 * How agents learn which rules fired, and what that costs: by default a `rule_<name>` tag each,
 * in the message's own write (no request of its own); with `helpdesk.rulesFired: note`, a private
 * note. The link remembers what the gateway set, so a follow-up reads the ticket only when its
 * priority may rise. Through the pipeline into the fake Zendesk, which records every request.
 */

const EMAIL = 'agent@example.com';
const TOKEN = 'zd-token-rules-fired-0123';

const RULES: Rule[] = [
  { name: 'withdrawal', when: { text: { matches: ['вывод'] } }, set: { priority: 'high', tags: ['payments', 'withdrawal'] }, stop: true },
  { name: 'Self Exclusion', when: { text: { matches: ['самоисключ'] } }, set: { priority: 'urgent', tags: ['responsible_gaming'] }, stop: true },
  { name: 'general', set: { priority: 'normal', tags: ['general'] } },
];

let n = 0;
const text = (body: string) => telegramText('01HZRULES', ++n, body);

describe('the rules that fired reach the agents without a request of their own', () => {
  let zd: FakeZendesk;
  let links: ReturnType<typeof memoryLinks>;
  let job = 0;
  const ctx = () => ({ attempt: 1, reconcile: false, idempotencyKey: `job-${++job}` });

  async function gateway(rulesFired?: 'tags' | 'note'): Promise<Pipeline> {
    const helpdesk = await zendesk.create(ZendeskOptions.parse({ baseUrl: zd.url, email: EMAIL, apiToken: TOKEN }), { log: silent, kv: memoryKv(), dataDir: '/nonexistent' });
    const compiled = compileRules(RULES);
    return createPipeline({
      helpdesk,
      channels: new Map([['telegram', { kind: 'telegram', medium: 'messenger' as const, network: 'telegram', instance: quietChannel }]]),
      links,
      rules: () => ({ compiled, replies: {} }),
      timezone: 'UTC',
      log: silent,
      ...(rulesFired ? { rulesFired } : {}),
    });
  }
  const send = (p: Pipeline, m: NormalizedMessage) => deliverInbound(p, links, m, ctx());
  /** The requests the next step makes, as `METHOD path`. */
  async function requestsOf(step: () => Promise<unknown>): Promise<string[]> {
    const before = zd.requests.length;
    await step();
    return zd.requests.slice(before).map((r) => `${r.method} ${r.path}`);
  }

  beforeAll(async () => {
    zd = await startFakeZendesk({ email: EMAIL, apiToken: TOKEN });
  });
  afterAll(() => zd.close());
  beforeEach(() => {
    zd.tickets.length = 0;
    zd.users.length = 0;
    zd.requests.length = 0;
    links = memoryLinks();
  });

  it('by default: a rule_<name> tag per rule, no private note; the requester and the ticket are the only requests', async () => {
    const p = await gateway();
    const calls = await requestsOf(() => send(p, text('вывод не пришёл')));
    expect(calls).toEqual(['POST /api/v2/users/create_or_update', 'POST /api/v2/tickets']);
    const ticket = zd.tickets[0]!;
    expect(ticket.tags).toEqual(expect.arrayContaining(['payments', 'withdrawal', 'rule_withdrawal']));
    expect(ticket.comments.filter((c) => !c.public)).toEqual([]);
    expect(links.all.get('telegram:777')!.lastSet).toEqual({ priority: 'high', tags: ['payments', 'withdrawal', 'rule_withdrawal'] });
  });

  it('a follow-up that cannot raise the priority is one PUT, without reading the ticket; one that may raise it reads first', async () => {
    const p = await gateway();
    await send(p, text('вывод не пришёл'));
    const path = `/api/v2/tickets/${zd.tickets[0]!.id}`;
    expect(await requestsOf(() => send(p, text('вывод так и не пришёл')))).toEqual([`PUT ${path}`]);
    // The catch-all's normal is below the high the gateway set: nothing to read, its tags are added in the same write.
    expect(await requestsOf(() => send(p, text('спасибо')))).toEqual([`PUT ${path}`]);
    expect(zd.tickets[0]!.tags).toEqual(expect.arrayContaining(['general', 'rule_general']));
    expect(zd.tickets[0]!.priority).toBe('high');
    expect(await requestsOf(() => send(p, text('хочу самоисключение')))).toEqual([`GET ${path}`, `PUT ${path}`]);
    expect(zd.tickets[0]!).toMatchObject({ priority: 'urgent', tags: expect.arrayContaining(['responsible_gaming', 'rule_self_exclusion']) });
    expect(links.all.get('telegram:777')!.lastSet!.priority).toBe('urgent');
  });

  it('an agent who raised the priority keeps it: the gateway reads before a raise and never lowers it', async () => {
    const p = await gateway();
    await send(p, text('вывод не пришёл'));
    zd.tickets[0]!.priority = 'urgent';
    await send(p, text('хочу самоисключение, вывод не пришёл'));
    expect(zd.tickets[0]!.priority).toBe('urgent');
    zd.tickets[0]!.priority = 'low';
    // An agent lowered it after the gateway's last write: a follow-up that asks no more than before leaves it so.
    await send(p, text('вывод'));
    expect(zd.tickets[0]!.priority).toBe('low');
  });

  it('rulesFired: note writes the rules in a private note (one request more) and adds no rule tags', async () => {
    const p = await gateway('note');
    const calls = await requestsOf(() => send(p, text('вывод не пришёл')));
    const ticket = zd.tickets[0]!;
    expect(calls).toEqual(['POST /api/v2/users/create_or_update', 'POST /api/v2/tickets', `PUT /api/v2/tickets/${ticket.id}`]);
    expect(ticket.tags.filter((t) => t.startsWith('rule_'))).toEqual([]);
    expect(ticket.comments.find((c) => !c.public)!.body).toContain('Switchboard rules fired: withdrawal.');
  });

  it('ruleTag: one word a helpdesk keeps as one tag', () => {
    expect(ruleTag('withdrawal')).toBe('rule_withdrawal');
    expect(ruleTag(' Self Exclusion ')).toBe('rule_self_exclusion');
    expect(ruleTag('a, b')).toBe('rule_a_b');
  });
});
