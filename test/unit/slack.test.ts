import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { AttemptContext, KeyValueStore, Notice, NotifierInstance } from '../../src/core/connector.ts';
import { definition as slack } from '../../connectors/notifiers/slack/index.ts';
import { startFakeSlack, type FakeSlack } from '../fakes/slack-server.ts';
import { memoryKv } from '../../src/runtime/memory-kv.ts';
import { recordingLogger } from '../fixtures/log.ts';
import { attempt as attemptOf, deliveryFailure } from '../fixtures/message.ts';

const TOKEN = 'xoxb-1234-5678-abcdefTEST';
const COMPLIANCE = 'C0COMPLIANCE';


const log = recordingLogger();

const notice = (over: Partial<Notice> = {}): Notice => ({
  target: 'compliance',
  ticketId: '4711',
  ticketUrl: 'https://acme.zendesk.com/agent/tickets/4711',
  rules: ['responsible-gaming'],
  priority: 'urgent',
  tags: ['responsible_gaming'],
  channel: { id: 'telegram', kind: 'telegram' },
  senderName: 'Dilnoza',
  text: 'Хочу самоисключение. Карта 4111 1111 1111 1111, звоните +998 90 123 45 67, пишите dilnoza@example.com',
  ...over,
});

/** One delivery of one notice: its attempts share the key. */
const attempt = (over: Partial<AttemptContext> = {}): AttemptContext => attemptOf({ idempotencyKey: 'job-1', ...over });

describe('slack notifier (against a local fake Slack Web API)', () => {
  let fake: FakeSlack;
  let kv: KeyValueStore;
  let notifier: NotifierInstance;

  beforeAll(async () => {
    fake = await startFakeSlack({ token: TOKEN, channels: [COMPLIANCE] });
  });
  afterAll(() => fake.close());
  beforeEach(async () => {
    fake.messages.length = 0;
    fake.requests.length = 0;
    log.lines.length = 0;
    kv = memoryKv();
    notifier = await slack.create(slack.options.parse({ token: TOKEN, apiUrl: fake.apiUrl, channels: { compliance: COMPLIANCE } }), { log, kv });
  });

  it('posts one concise alert with the ticket link, priority, tags and rules, and personal data masked', async () => {
    await notifier.send(notice(), attempt());
    expect(fake.messages).toHaveLength(1);
    const m = fake.messages[0]!;
    expect(m.channel).toBe(COMPLIANCE);
    expect(m.text).toBe('[urgent] Ticket #4711: responsible-gaming');
    const all = JSON.stringify(m.blocks);
    expect(all).toContain('<https://acme.zendesk.com/agent/tickets/4711|Ticket #4711>');
    expect(all).toContain('responsible_gaming');
    expect(all).toContain('telegram (telegram)');
    expect(all).toContain('**** **** **** 1111');
    expect(all).not.toMatch(/4111 1111 1111 1111|4111111111111111/);
    expect(all).not.toContain('90 123 45 67');
    expect(all).not.toContain('dilnoza@example.com');
    expect(all).toContain('самоисключение');
    expect(fake.requests[0]!.authorization).toBe(`Bearer ${TOKEN}`);
    expect(m.metadata).toEqual({ event_type: 'switchboard_notice', event_payload: { key: 'job-1', ticket_id: '4711' } });
  });

  it('a notice with a headline (the SLA watch) leads with it, and has no rules to list', async () => {
    const headline = 'SLA breached: the customer has waited 6m 40s in business hours for a first reply; target 5m';
    await notifier.send(notice({ headline, rules: [], text: '', senderName: undefined, priority: 'high' }), attempt());
    const m = fake.messages[0]!;
    expect(m.text).toBe(`[high] Ticket #4711: ${headline}`);
    const blocks = JSON.stringify(m.blocks);
    expect(blocks).toContain(`*<https://acme.zendesk.com/agent/tickets/4711|Ticket #4711>*: ${headline}`);
    expect(blocks).not.toContain('*Rules*');
    expect(blocks).not.toContain('needs attention');
  });

  it("escapes the customer's words so they cannot ping a channel or forge links", async () => {
    await notifier.send(notice({ text: '<!channel> see <https://evil.example|your bank> & more' }), attempt());
    const section = JSON.stringify(fake.messages[0]!.blocks);
    expect(section).toContain('&lt;!channel&gt;');
    expect(section).not.toContain('<!channel>');
    expect(section).toContain('&amp; more');
  });

  it('maps 429 to rate_limited with Retry-After, without retrying inside the client', async () => {
    fake.failNext('chat.postMessage', 1, { status: 429, headers: { 'retry-after': '7' }, body: { ok: false, error: 'ratelimited' } });
    const err = await deliveryFailure(notifier.send(notice(), attempt()));
    expect(err.kind).toBe('rate_limited');
    expect(err.retryAfterMs).toBe(7000);
    expect(fake.requests.filter((r) => r.method === 'chat.postMessage')).toHaveLength(1);
    expect(fake.messages).toHaveLength(0);
  });

  it("keeps Slack's error verbatim and sorts setup problems as permanent", async () => {
    const other = await slack.create(slack.options.parse({ token: TOKEN, apiUrl: fake.apiUrl, channels: { compliance: 'C0GONE' } }), { log, kv });
    const err = await deliveryFailure(other.send(notice(), attempt()));
    expect(err.kind).toBe('permanent');
    expect(err.message).toContain('channel_not_found');
    expect(err.detail).toContain('"error":"channel_not_found"');
  });

  it('retries a 5xx', async () => {
    fake.failNext('chat.postMessage', 1, { status: 503, body: 'upstream down' });
    const err = await deliveryFailure(notifier.send(notice(), attempt()));
    expect(err.kind).toBe('retry');
    expect(err.detail).toBe('upstream down');
  });

  it('refuses a target with no channel, naming it', async () => {
    const err = await deliveryFailure(notifier.send(notice({ target: 'payments' }), attempt()));
    expect(err.kind).toBe('permanent');
    expect(err.message).toContain("'payments'");
    expect(fake.requests).toHaveLength(0);
  });

  it('does not post twice when the answer to the first post was lost', async () => {
    fake.failNext('chat.postMessage', 1, { status: 500, body: 'lost', applyFirst: true });
    const first = await deliveryFailure(notifier.send(notice(), attempt()));
    expect(first.ambiguous).toBe(true);
    expect(fake.messages).toHaveLength(1);
    await notifier.send(notice(), attempt({ attempt: 2, reconcile: true }));
    expect(fake.messages).toHaveLength(1);
    expect(fake.requests.map((r) => r.method)).toEqual(['chat.postMessage', 'conversations.history']);
  });

  it('does not post again for a notice it already posted', async () => {
    await notifier.send(notice(), attempt());
    await notifier.send(notice(), attempt({ attempt: 2 }));
    expect(fake.messages).toHaveLength(1);
  });

  it('check() proves the token works', async () => {
    await expect(notifier.check!()).resolves.toContain('Acme');
    const bad = await slack.create(slack.options.parse({ token: 'xoxb-wrong', apiUrl: fake.apiUrl }), { log, kv });
    const err = await deliveryFailure(bad.check!());
    expect(err.message).toContain('invalid_auth');
    expect(err.kind).toBe('permanent');
  });

  it('never logs the token', async () => {
    await notifier.send(notice(), attempt());
    fake.failNext('chat.postMessage', 1, { status: 500, body: 'x' });
    await notifier.send(notice(), attempt({ idempotencyKey: 'job-2' })).catch(() => undefined);
    expect(JSON.stringify(log.lines)).not.toContain(TOKEN);
  });
});
