import { describe, expect, it } from 'vitest';
import { tgUpdate } from '../fakes/telegram-server.ts';
import { CREDENTIALS, withGateway, yaml } from '../fixtures/gateway.ts';
import { runCli, tempDir, waitFor } from './harness.ts';

/**
 * The whole gateway as a user runs it: the `switchboard start` process, a fake Telegram
 * Bot API and a fake Zendesk, both real HTTP servers speaking the documented formats.
 * A fresh gateway and store for each test; the fakes forget the previous test.
 */

const TG_SECRET = CREDENTIALS.telegram.secret;
const ZD_SECRET = CREDENTIALS.zendesk.webhookSecret;
const ADMIN = CREDENTIALS.admin;

describe('Telegram and web forms into Zendesk and back (real gateway process)', () => {
  const t = withGateway({
    fakes: { telegram: true, zendesk: true },
    per: 'test',
    config: ({ dataDir }) => `
${yaml.base({ dataDir, publicUrl: 'http://127.0.0.1:8080', admin: true, delivery: '{ maxAttempts: 60, baseDelayMs: 100, maxDelayMs: 1500, concurrency: 4 }' })}
timezone: Asia/Tashkent
${yaml.zendesk(`  groups: ${yaml.groups}
  fields: { player_id: 900001 }`)}
channels:
${yaml.telegram()}
${yaml.contact({ topics: true })}
${yaml.igaming}
rules:
  - name: vip-form
    when: { channel: contact, form: { topic: payments } }
    set: { tags: [form_payments] }
`,
  });
  const tg = () => t.fakes.telegram;
  const zd = () => t.fakes.zendesk;

  const sendUpdate = (update: object, secret = TG_SECRET) =>
    t.gw.post('/webhooks/telegram', update, { 'x-telegram-bot-api-secret-token': secret });

  it('a Telegram message becomes a ticket with the customer as requester, tags, priority and group; the next one is appended', async () => {
    const first = await sendUpdate(tgUpdate.text(777001, 'Здравствуйте, вывод не пришёл уже 3 дня', { updateId: 1, messageId: 10, firstName: 'Azamat', username: 'azamat_uz', languageCode: 'ru' }));
    expect(first.status).toBe(200);

    const ticket = await waitFor('the ticket', () => zd().tickets[0]);
    const requester = zd().users.find((u) => u.id === ticket.requester_id)!;
    expect(requester.external_id).toBe('telegram:777001');
    expect(requester.name).toContain('Azamat');
    expect(ticket.submitter_id).toBe(ticket.requester_id);
    expect(ticket.priority).toBe('high');
    expect(ticket.tags).toEqual(expect.arrayContaining(['payments', 'withdrawal', 'switchboard', 'switchboard_messenger']));
    expect(ticket.group_id).toBe(101);
    expect(ticket.comments[0]!.body).toContain('вывод не пришёл');
    expect(ticket.comments[0]!.author_id).toBe(ticket.requester_id);
    expect(ticket.comments[0]!.public).toBe(true);
    // Agents see which rules fired, as tags written with the message: no note, no request of its own.
    expect(ticket.tags).toEqual(expect.arrayContaining(['rule_withdrawal']));
    expect(ticket.comments.filter((c) => !c.public)).toEqual([]);

    await sendUpdate(tgUpdate.text(777001, 'ID 5512345, карта Humo', { updateId: 2, messageId: 11, firstName: 'Azamat' }));
    await waitFor('the follow-up comment', () => ticket.comments.find((c) => c.body.includes('карта Humo')));
    expect(zd().tickets).toHaveLength(1);
    const followUp = ticket.comments.find((c) => c.body.includes('карта Humo'))!;
    expect(followUp.author_id).toBe(ticket.requester_id);
    expect(followUp.public).toBe(true);
  });

  it('a message to a closed ticket opens a follow-up ticket, and the conversation continues there', async () => {
    await sendUpdate(tgUpdate.text(777020, 'бонус не начислили', { updateId: 130, messageId: 1 }));
    const first = await waitFor('the ticket', () => zd().tickets[0]);
    zd().closeTicket(first.id);
    await sendUpdate(tgUpdate.text(777020, 'опять бонус не пришёл', { updateId: 131, messageId: 2 }));
    const second = await waitFor('the follow-up ticket', () => zd().tickets[1]);
    expect(second.via_followup_source_id).toBe(first.id);
    expect(second.requester_id).toBe(first.requester_id);
    await sendUpdate(tgUpdate.text(777020, 'и ещё вопрос', { updateId: 132, messageId: 3 }));
    await waitFor('the next message on the follow-up', () => second.comments.find((c) => c.body.includes('и ещё вопрос')));
    zd().addAgentComment(second.id, 'Начислили, проверьте');
    const body = JSON.stringify({ ticket_id: second.id });
    await t.gw.post('/helpdesk/events', body, zd().signWebhook(body, ZD_SECRET));
    await waitFor('the reply from the follow-up ticket', () => tg().sent.find((m) => m.chat_id === '777020' && m.text?.includes('Начислили')));
    expect(zd().tickets).toHaveLength(2);
  });

  it('a photo arrives in Zendesk as an attachment of the customer comment', async () => {
    const bytes = Buffer.from('\x89PNG fake image bytes for the test');
    tg().addFile('photo-big', bytes, 'photos/file_1.jpg');
    await sendUpdate(tgUpdate.photo(777002, [{ fileId: 'photo-small', size: 100 }, { fileId: 'photo-big', size: bytes.length }], { updateId: 3, messageId: 1, caption: 'чек об оплате' }));
    const ticket = await waitFor('the ticket', () => zd().tickets[0]);
    const comment = ticket.comments[0]!;
    expect(comment.body).toContain('чек об оплате');
    expect(comment.uploads).toHaveLength(1);
    expect(comment.uploads[0]!.data.equals(bytes)).toBe(true);
  });

  it('the same update delivered five times at once makes one ticket with one comment', async () => {
    const update = tgUpdate.text(777003, 'bonus not credited', { updateId: 50, messageId: 5 });
    const answers = await Promise.all(Array.from({ length: 5 }, () => sendUpdate(update)));
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    const ticket = await waitFor('the ticket', () => zd().tickets[0]);
    await t.settled();
    expect(zd().tickets).toHaveLength(1);
    expect(ticket.comments.filter((c) => c.public)).toHaveLength(1);
  });

  it('forged Telegram and Zendesk requests are refused and nothing is stored', async () => {
    const forged = await sendUpdate(tgUpdate.text(777004, 'fake', { updateId: 60, messageId: 1 }), 'wrong-secret');
    expect(forged.status).toBe(401);
    const missing = await t.gw.post('/webhooks/telegram', tgUpdate.text(777004, 'fake', { updateId: 61, messageId: 2 }));
    expect(missing.status).toBe(401);
    expect(forged.body).not.toContain(TG_SECRET);

    const body = JSON.stringify({ ticket_id: '1' });
    const badSig = await t.gw.post('/helpdesk/events', body, zd().signWebhook(body, 'not-the-secret'));
    expect(badSig.status).toBe(401);
    const unsigned = await t.gw.post('/helpdesk/events', body);
    expect(unsigned.status).toBe(401);

    await t.settled();
    expect(zd().tickets).toHaveLength(0);
    expect(tg().sent).toHaveLength(0);
  });

  it("an agent's public answer in Zendesk (text and attachment) arrives in the customer's chat, once", async () => {
    await sendUpdate(tgUpdate.text(777005, 'Не могу пройти верификацию', { updateId: 70, messageId: 1 }));
    const ticket = await waitFor('the ticket', () => zd().tickets[0]);
    const { commentId } = zd().addAgentComment(ticket.id, 'Здравствуйте! Пришлите, пожалуйста, фото паспорта.', {
      attachments: [{ file_name: 'guide.pdf', content_type: 'application/pdf', data: Buffer.from('%PDF-1.4 guide') }],
    });
    zd().addAgentComment(ticket.id, 'internal: check AML', { public: false });
    const body = JSON.stringify({ ticket_id: String(ticket.id), comment_id: String(commentId) });
    const headers = zd().signWebhook(body, ZD_SECRET);
    // Zendesk retries webhooks: the same event three times must deliver the reply once.
    for (let i = 0; i < 3; i++) expect((await t.gw.post('/helpdesk/events', body, headers)).status).toBe(200);

    await waitFor('the reply in Telegram', () => tg().sent.find((m) => m.text?.includes('фото паспорта')));
    await waitFor('the attachment in Telegram', () => tg().sent.find((m) => m.file?.name === 'guide.pdf'));
    await t.settled();
    expect(tg().sent.filter((m) => m.text?.includes('фото паспорта'))).toHaveLength(1);
    expect(tg().sent.some((m) => m.text?.includes('internal'))).toBe(false);
    expect(tg().sent.every((m) => m.chat_id === '777005')).toBe(true);
  });

  it('a reply Telegram refuses (bot blocked) becomes a private note on the ticket', async () => {
    await sendUpdate(tgUpdate.text(777006, 'hello', { updateId: 80, messageId: 1 }));
    const ticket = await waitFor('the ticket', () => zd().tickets[0]);
    tg().failNext('sendMessage', 1, { error_code: 403, description: 'Forbidden: bot was blocked by the user' });
    zd().addAgentComment(ticket.id, 'Hi, how can we help?');
    const body = JSON.stringify({ ticket_id: ticket.id });
    await t.gw.post('/helpdesk/events', body, zd().signWebhook(body, ZD_SECRET));
    const note = await waitFor('the private note', () => ticket.comments.find((c) => !c.public && c.body.includes('bot was blocked')));
    expect(note.body).toMatch(/not delivered/i);
  });

  it('a contact-form submission becomes a ticket with validated fields; a bad one is refused naming the field', async () => {
    const bad = await t.gw.post('/forms/contact', { email: 'not-an-email', topic: 'casino' });
    expect(bad.status).toBe(400);
    const problems = JSON.parse(bad.body) as { fields: Record<string, string> };
    expect(Object.keys(problems.fields).sort()).toEqual(['email', 'message', 'topic']);

    const ok = await t.gw.post('/forms/contact', { email: 'player@example.com', name: 'Dilnoza', message: 'Депозит не зачислен', topic: 'payments', submissionId: 'form-sub-000001' });
    expect(ok.status).toBe(200);
    const again = await t.gw.post('/forms/contact', { email: 'player@example.com', name: 'Dilnoza', message: 'Депозит не зачислен', topic: 'payments', submissionId: 'form-sub-000001' });
    expect(again.status).toBe(200);
    const ticket = await waitFor('the ticket', () => zd().tickets[0]);
    const requester = zd().users.find((u) => u.id === ticket.requester_id)!;
    expect(requester.email).toBe('player@example.com');
    expect(ticket.tags).toEqual(expect.arrayContaining(['payments', 'form_payments', 'switchboard', 'switchboard_form']));
    await t.settled();
    expect(zd().tickets).toHaveLength(1);
  });

  it('a form submission with a file (multipart) arrives with the file attached to the ticket', async () => {
    const form = new FormData();
    form.set('email', 'kyc@example.com');
    form.set('message', 'Отправляю паспорт для верификации');
    form.set('topic', 'verification');
    form.set('submissionId', 'form-sub-000002');
    form.set('document', new Blob([Buffer.from('passport scan bytes')], { type: 'image/jpeg' }), 'passport.jpg');
    const res = await fetch(`${t.gw.url}/forms/contact`, { method: 'POST', body: form, headers: { accept: 'application/json' } });
    expect(res.status).toBe(200);
    const ticket = await waitFor('the ticket', () => zd().tickets[0]);
    const upload = ticket.comments[0]!.uploads[0]!;
    expect(upload.file_name).toBe('passport.jpg');
    expect(upload.data.toString()).toBe('passport scan bytes');
    expect(ticket.tags).toContain('kyc');
  });

  it('a responsible-gaming plea is urgent, goes to its own group, and gets an immediate careful reply in the customer language', async () => {
    await sendUpdate(tgUpdate.text(777007, "o'yin sabab qarzga botdim, to'xtata olmayapman", { updateId: 90, messageId: 1, languageCode: 'uz' }));
    const ticket = await waitFor('the ticket', () => zd().tickets[0]);
    expect(ticket.priority).toBe('urgent');
    expect(ticket.group_id).toBe(103);
    expect(ticket.tags).toContain('responsible_gaming');
    const reply = await waitFor('the automatic reply', () => tg().sent.find((m) => m.chat_id === '777007'));
    expect(reply.text!.length).toBeGreaterThan(20);
    expect(reply.text).not.toMatch(/[а-яё]/i); // Uzbek Latin, not Russian
    // Agents see that the reply went out.
    await waitFor('the note about the automatic reply', () => ticket.comments.find((c) => !c.public && c.body.includes(reply.text!.slice(0, 20))));
  });

  it('an album arrives as one comment with every photo; a file over the Bot API limit is named in a note', async () => {
    const photos = tgUpdate.album(777008, [{ caption: 'скрин депозита' }, {}], { groupId: 'mg-77' });
    tg().addFile('mg-77-0', Buffer.from('photo one'));
    tg().addFile('mg-77-1', Buffer.from('photo two'));
    for (const u of photos) expect((await sendUpdate(u)).status).toBe(200);
    const ticket = await waitFor('the ticket', () => zd().tickets[0]);
    const comment = ticket.comments[0]!;
    expect(comment.uploads.map((u) => u.data.toString()).sort()).toEqual(['photo one', 'photo two']);
    expect(ticket.comments.filter((c) => c.public)).toHaveLength(1);

    await sendUpdate(tgUpdate.document(777008, { fileId: 'huge', size: 25 * 1024 * 1024, name: 'statement.pdf', mime: 'application/pdf' }, { updateId: 91, messageId: 40 }));
    const note = await waitFor('the note about the big file', () => ticket.comments.find((c) => !c.public && c.body.includes('statement.pdf')));
    expect(note.body).toMatch(/20 MB/);
  });

  it('a ticket Zendesk refuses is dead-lettered with Zendesk\'s own words, listed by the CLI and replayed', async () => {
    const refusal = '{"error":"RecordInvalid","description":"Record validation errors","details":{"base":[{"description":"Requester is suspended","error":"InvalidValue"}]}}';
    zd().failNext(1, { status: 422, body: refusal, headers: { 'content-type': 'application/json' } });
    await sendUpdate(tgUpdate.text(777009, 'first try', { updateId: 95, messageId: 1 }));
    const configArgs = ['--config', t.configFile];
    const env = t.env;
    const listed = await waitFor('the dead letter', async () => {
      const r = await runCli(['dlq', 'list', '--json', ...configArgs], env);
      const items = JSON.parse(r.stdout || '[]') as { id: string; detail?: string; status?: number }[];
      return items.length > 0 ? items : undefined;
    });
    expect(listed[0]!.detail).toBe(refusal);
    expect(listed[0]!.status).toBe(422);
    const admin = await fetch(`${t.gw.url}/admin/dlq`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(((await admin.json()) as { items: unknown[] }).items).toHaveLength(1);
    expect((await fetch(`${t.gw.url}/admin/dlq`)).status).toBe(401);

    const replay = await runCli(['dlq', 'replay', listed[0]!.id, ...configArgs], env);
    expect(replay.code).toBe(0);
    const ticket = await waitFor('the ticket after replay', () => zd().tickets[0]);
    expect(ticket.comments[0]!.body).toContain('first try');
    expect((await runCli(['dlq', 'replay', 'no-such-id', ...configArgs], env)).code).toBe(4);
  });

  it('reports what it does on /metrics and /readyz', async () => {
    await sendUpdate(tgUpdate.text(777010, 'hi', { updateId: 99, messageId: 1 }));
    await waitFor('the ticket', () => zd().tickets[0]);
    await sendUpdate(tgUpdate.text(777010, 'hi', { updateId: 99, messageId: 1 }));
    // A job counts as delivered once its completion is committed, a moment after the ticket exists.
    const delivered = /switchboard_delivered_total\{kind="inbound",channel="telegram",helpdesk="zendesk"\} 1/;
    const metrics = await waitFor('the delivery to be counted', async () => {
      const text = await (await fetch(`${t.gw.url}/metrics`)).text();
      return delivered.test(text) && text;
    });
    expect(metrics).toMatch(/switchboard_accepted_total\{channel="telegram"\} 1/);
    expect(metrics).toMatch(/switchboard_duplicates_total\{channel="telegram"\} 1/);
    const ready = await fetch(`${t.gw.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ ready: true, checks: { store: { ready: true }, 'channel:telegram': { ready: true } } });
  });

  it('rules reload on file change without a restart; a broken edit is refused and the running rules stay', async () => {
    const { readFile, writeFile } = await import('node:fs/promises');
    const file = t.configFile;
    const original = await readFile(file, 'utf8');
    await writeFile(file, original.replace('set: { tags: [form_payments] }', 'set: { tags: [form_payments] }\n  - name: hot\n    when: { text: { keywords: ["hot reload"] } }\n    set: { tags: [hot_reloaded] }'));
    await waitFor('the reload', () => t.gw.output.includes('rules reloaded'));
    await sendUpdate(tgUpdate.text(777011, 'testing hot reload now', { updateId: 120, messageId: 1 }));
    const ticket = await waitFor('the ticket', () => zd().tickets[0]);
    expect(ticket.tags).toContain('hot_reloaded');

    await writeFile(file, original.replace('set: { tags: [form_payments] }', 'set: { tags: [form_payments] }\n  - name: broken\n    when: { text: { matchez: ["x"] } }'));
    await waitFor('the refusal', () => t.gw.output.includes('matchez'));
    await sendUpdate(tgUpdate.text(777012, 'hot reload still on', { updateId: 121, messageId: 1 }));
    const second = await waitFor('the second ticket', () => zd().tickets[1]);
    expect(second.tags).toContain('hot_reloaded');
  });

  it('the CLI: check --online proves the credentials, rules test prints the decision, telegram set-webhook registers the secret', async () => {
    const file = t.configFile;
    const env = t.env;
    const ok = await runCli(['check', '--online', '--config', file], env);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/helpdesk zendesk: OK/);
    expect(ok.stdout).toMatch(/channel telegram: OK/);
    const bad = await runCli(['check', '--online', '--config', file], { ...env, ZENDESK_API_TOKEN: 'wrong-token-0000' });
    expect(bad.code).toBe(3);
    expect(bad.stdout).toMatch(/helpdesk zendesk: FAILED/);
    expect(bad.stdout + bad.stderr).not.toContain('wrong-token-0000');

    const rules = await runCli(['rules', 'test', '--config', file, '--channel', 'telegram', '--text', 'pul yechib bolmayapti 2 kundan beri', '--json'], env);
    expect(rules.code).toBe(0);
    const verdict = JSON.parse(rules.stdout) as { decision: { priority: string; tags: string[] } };
    expect(verdict.decision.tags).toContain('payments');
    expect(verdict.decision.priority).toBe('high');

    const hook = await runCli(['telegram', 'set-webhook', '--config', file], env);
    expect(hook.code).toBe(0);
    expect(tg().webhook).toMatchObject({ url: 'http://127.0.0.1:8080/webhooks/telegram', secret_token: TG_SECRET });
    expect(hook.stdout).not.toContain(TG_SECRET);
  });

  it('bad requests get JSON errors that name the problem, never a stack trace', async () => {
    const big = await t.gw.post('/webhooks/telegram', JSON.stringify({ update_id: 1, pad: 'x'.repeat(2 * 1024 * 1024) }), { 'x-telegram-bot-api-secret-token': TG_SECRET });
    expect(big.status).toBe(413);
    expect(JSON.parse(big.body)).toMatchObject({ error: 'payload_too_large' });
    const notJson = await t.gw.post('/webhooks/telegram', '{"update_id": 1,', { 'x-telegram-bot-api-secret-token': TG_SECRET });
    expect(notJson.status).toBe(400);
    expect(notJson.body).not.toMatch(/at .*\.ts:\d+/);
    const missing = await t.gw.post('/webhooks/nope', {});
    expect(missing.status).toBe(404);
    expect(JSON.parse(missing.body)).toMatchObject({ error: 'not_found' });
  });

  it('Zendesk failing with 500s, then 429 with Retry-After, then accepting: every message arrives once, in order per chat', async () => {
    zd().failNext(6, { status: 500, body: '{"error":"InternalError"}' });
    zd().failNext(3, { status: 429, body: 'Too Many Requests', headers: { 'retry-after': '1' } });
    const chats = [777101, 777102, 777103];
    let updateId = 1000;
    for (let i = 1; i <= 4; i++) {
      for (const chat of chats) {
        const r = await sendUpdate(tgUpdate.text(chat, `msg ${chat} #${i}`, { updateId: updateId++, messageId: i }));
        expect(r.status).toBe(200);
      }
    }
    await waitFor('all twelve messages', () => {
      const all = zd().tickets.flatMap((t) => t.comments.filter((c) => c.public).map((c) => c.body));
      return all.filter((b) => b.startsWith('msg ')).length >= 12 ? all : undefined;
    });
    expect(zd().tickets).toHaveLength(3);
    for (const chat of chats) {
      const tickets = zd().tickets.filter((t) => t.comments.some((c) => c.body.startsWith(`msg ${chat} `)));
      expect(tickets).toHaveLength(1);
      const bodies = tickets[0]!.comments.filter((c) => c.public).map((c) => c.body);
      expect(bodies).toEqual([1, 2, 3, 4].map((i) => `msg ${chat} #${i}`));
    }
  });

  it('killed with SIGKILL mid-delivery and restarted: every acknowledged message arrives exactly once', async () => {
    zd().failNext(40, { status: 200, delayMs: 500, passThrough: true });
    const acked: string[] = [];
    let updateId = 2000;
    for (let i = 1; i <= 5; i++) {
      for (const chat of [777201, 777202]) {
        const text = `kill ${chat} #${i}`;
        const r = await sendUpdate(tgUpdate.text(chat, text, { updateId: updateId++, messageId: i }));
        if (r.status === 200) acked.push(text);
      }
    }
    expect(acked).toHaveLength(10);
    // Kill while a customer comment is being appended: Zendesk has applied it, the answer is not back yet.
    await waitFor('an append in flight', () => zd().requests.some((r) => r.method === 'PUT' && JSON.stringify(r.body).includes('"public":true')));
    await t.gw.kill('SIGKILL');
    await t.gw.start();
    await waitFor('every acknowledged message', () => {
      const bodies = zd().tickets.flatMap((t) => t.comments.map((c) => c.body));
      return acked.every((a) => bodies.includes(a)) ? bodies : undefined;
    });
    await t.settled();
    const bodies = zd().tickets.flatMap((t) => t.comments.filter((c) => c.public).map((c) => c.body));
    for (const text of acked) expect(bodies.filter((b) => b === text), text).toHaveLength(1);
    expect(zd().tickets).toHaveLength(2);
  });
});

describe('a Telegram sender over the flood limit (real gateway process)', () => {
  const t = withGateway({
    fakes: { telegram: true, zendesk: true },
    per: 'test',
    config: ({ dataDir }) => `
${yaml.base({ dataDir, delivery: '{ maxAttempts: 60, baseDelayMs: 100, maxDelayMs: 1500, concurrency: 4, floodLimit: { messages: 3, perSeconds: 3600 } }' })}
${yaml.zendesk()}
channels:
${yaml.telegram()}
`,
  });
  const zd = () => t.fakes.zendesk;
  const sendUpdate = (update: object) => t.gw.post('/webhooks/telegram', update, { 'x-telegram-bot-api-secret-token': TG_SECRET });

  it('gets every message delivered, in order, and the agents one private note; another customer is untouched', async () => {
    for (let i = 1; i <= 7; i++) expect((await sendUpdate(tgUpdate.text(777301, `spam ${i}`, { updateId: 3000 + i, messageId: i }))).status).toBe(200);
    expect((await sendUpdate(tgUpdate.text(777302, 'hello, a question about my account', { updateId: 3100, messageId: 1 }))).status).toBe(200);

    const spammer = await waitFor('all seven messages', () => {
      const found = zd().tickets.find((x) => x.comments.some((c) => c.body === 'spam 1'));
      return found && found.comments.filter((c) => c.public && c.body.startsWith('spam ')).length === 7 ? found : undefined;
    });
    // Nothing dropped, nothing twice, order kept within the conversation; the agents are told once.
    expect(spammer.comments.filter((c) => c.public).map((c) => c.body)).toEqual([1, 2, 3, 4, 5, 6, 7].map((i) => `spam ${i}`));
    expect(spammer.comments.filter((c) => !c.public && c.body.includes('flood limit'))).toHaveLength(1);
    const other = await waitFor('the other customer', () => zd().tickets.find((x) => x.comments.some((c) => c.body.startsWith('hello, a question'))));
    expect(other.comments.some((c) => c.body.includes('flood limit'))).toBe(false);
  });
});

describe('switchboard check', () => {
  it('a config typo fails with the file, the line and the key', async () => {
    const dir = await tempDir();
    try {
      const file = `${dir.path}/switchboard.yaml`;
      const { writeFile } = await import('node:fs/promises');
      await writeFile(file, ['helpdesk:', '  kind: jsonl', 'channels:', '  form:', '    kind: webform', '    feilds:', '      email: { type: email }', ''].join('\n'));
      const r = await runCli(['check', '--config', file]);
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`${file}:6`);
      expect(r.stderr).toContain('feilds');
      expect(r.stderr).toMatch(/did you mean 'fields'/);
    } finally {
      await dir.remove();
    }
  });
});
