import { beforeEach, describe, expect, it } from 'vitest';
import type { FakeFreshdesk } from '../fakes/freshdesk-server.ts';
import { PHONE_NUMBER_ID, signedWebhook, waChange, waMessage, waPayload, type FakeGraph } from '../fakes/graph-api-server.ts';
import type { SmtpSink } from '../fakes/smtp-sink.ts';
import { tgUpdate, type FakeTelegram } from '../fakes/telegram-server.ts';
import type { FakeTicket, FakeZendesk } from '../fakes/zendesk-server.ts';
import { CREDENTIALS, settled, withGateway, yaml } from '../fixtures/gateway.ts';
import { metric, metricsText, sample } from '../fixtures/metrics.ts';
import { freePort, type GatewayProcess, waitFor } from './harness.ts';

/**
 * The rating question end to end: the real `switchboard start` process with the fake Telegram,
 * Graph (WhatsApp), SMTP and helpdesk servers. The helpdesk reports a ticket solved through the
 * trigger or automation the guides document; the customer answers with a button, a list row, a
 * template's quick reply, a typed message or an email link; the rating lands on the ticket once.
 */

const { secret: TG_SECRET } = CREDENTIALS.telegram;
const { webhookSecret: ZD_SECRET } = CREDENTIALS.zendesk;
const { appSecret: WA_SECRET } = CREDENTIALS.whatsapp;
const { webhookSecret: FD_SECRET } = CREDENTIALS.freshdesk;
const LINK_SECRET = 'csat-link-secret-0123456789-0123456789';
const ADMIN_TOKEN = CREDENTIALS.admin;

/** What the Zendesk trigger "Status category changed to Solved" posts (docs/zendesk.md). */
function zendeskSolved(gw: GatewayProcess, zd: FakeZendesk, t: FakeTicket) {
  const body = JSON.stringify({ ticket_id: String(t.id), event: 'solved', tags: t.tags.join(' ') });
  return gw.post('/helpdesk/events', body, zd.signWebhook(body, ZD_SECRET));
}

/** The Zendesk ticket of the customer with this external id (`telegram:880001`). */
function zendeskTicketOf(zd: FakeZendesk, externalId: string): Promise<FakeTicket> {
  return waitFor(`the ticket of ${externalId}`, () => zd.tickets.find((t) => zd.users.find((u) => u.id === t.requester_id)?.external_id === externalId));
}
describe('rating question on Telegram, rating to Zendesk (real gateway process)', () => {
  const t = withGateway({
    fakes: { telegram: true, zendesk: true },
    config: ({ dataDir }) => `
${yaml.base({ dataDir, admin: true })}
timezone: Asia/Tashkent
${yaml.zendesk(`  csatImpersonationToken: \${ZENDESK_IMPERSONATION_TOKEN}
  groups: ${yaml.groups}
  fields: { csat_score: 900002 }`)}
channels:
${yaml.telegram()}
${yaml.igaming}
csat:
  channels: { telegram: {} }
  delaySeconds: 0
  field: csat_score
`,
  });
  let tg: FakeTelegram;
  let zd: FakeZendesk;
  let gw: GatewayProcess;
  beforeEach(() => {
    ({ telegram: tg, zendesk: zd } = t.fakes);
    gw = t.gw;
  });

  const update = (u: object, secret: string | null = TG_SECRET) => gw.post('/webhooks/telegram', u, secret === null ? {} : { 'x-telegram-bot-api-secret-token': secret });
  const solved = (t: FakeTicket) => zendeskSolved(gw, zd, t);
  const ticketOf = (chat: number) => zendeskTicketOf(zd, `telegram:${chat}`);
  const questionIn = (chat: number) => waitFor(`the rating question in chat ${chat}`, () => tg.sent.find((m) => m.chat_id === String(chat) && m.buttons));
  const notesOf = (t: FakeTicket, text: string) => t.comments.filter((c) => !c.public && c.body.includes(text));

  it('a solved ticket gets one question with buttons; a redelivered press rates once (tag, field, Zendesk rating, note); a low score asks what to do better, and the answer becomes a private note', async () => {
    expect((await update(tgUpdate.text(880001, 'Здравствуйте, вывод не пришёл уже 3 дня', { updateId: 1, messageId: 1 }))).status).toBe(200);
    const ticket = await ticketOf(880001);
    zd.addAgentComment(ticket.id, 'Выплата отправлена повторно, проверьте.');
    zd.solveTicket(ticket.id);
    // Zendesk retries webhooks: the same solved event twice asks once.
    expect((await solved(ticket)).status).toBe(200);
    expect((await solved(ticket)).status).toBe(200);

    const question = await questionIn(880001);
    expect(question.text).toMatch(/оцените нашу помощь от 1 до 5/);
    expect(question.buttons).toEqual([[1, 2, 3, 4, 5].map((n) => ({ text: `${n} ⭐`, callback_data: expect.stringMatching(new RegExp(`^csat:[0-9A-Z]{26}:${n}$`)) }))]);
    const press = (n: number, queryId: string) => update(tgUpdate.callbackQuery(880001, question.buttons![0]![n - 1]!.callback_data, { queryId, messageId: question.message_id }));

    // Telegram redelivers the same press (same callback query id); the customer then taps another score.
    for (let i = 0; i < 3; i++) expect((await press(2, 'press-a')).status).toBe(200);
    expect((await press(5, 'press-b')).status).toBe(200);

    await waitFor('the rating on the ticket', () => ticket.tags.includes('csat_2'));
    await waitFor("Zendesk's own rating", () => ticket.satisfaction_rating);
    expect(ticket.satisfaction_rating).toMatchObject({ score: 'bad', by: ticket.requester_id });
    expect(ticket.custom_fields).toContainEqual({ id: 900002, value: 2 });
    const followUp = await waitFor('the follow-up question', () => tg.sent.find((m) => m.chat_id === '880001' && /Что мы могли сделать лучше/.test(m.text ?? '')));
    expect(tg.answeredCallbacks).toEqual(expect.arrayContaining(['press-a', 'press-b']));

    await update(tgUpdate.text(880001, 'Слишком долго ждал ответа, три дня без новостей', { updateId: 2, messageId: followUp.message_id + 1 }));
    await waitFor('the feedback note', () => notesOf(ticket, 'три дня без новостей').length > 0);
    await waitFor('the thanks for the feedback', () => tg.sent.find((m) => m.chat_id === '880001' && /передали ваш отзыв/.test(m.text ?? '')));
    await settled(gw);
    expect(ticket.tags).not.toContain('csat_5');
    expect(notesOf(ticket, 'rated this ticket 2/5')).toHaveLength(1);
    expect(notesOf(ticket, 'три дня без новостей')).toHaveLength(1);
    // The feedback is a note for the agents: no customer comment, and the solved ticket stays solved.
    expect(ticket.comments.filter((c) => c.public && c.body.includes('три дня'))).toHaveLength(0);
    expect(ticket.status).toBe('solved');
    expect(tg.sent.filter((m) => m.chat_id === '880001' && m.buttons)).toHaveLength(1);

    // The console's path of the conversation: the question asked and the rating received, once each.
    const page = await waitFor('the rating on the conversation\'s path', async () => {
      const html = await (await fetch(`${gw.url}/admin/conversations?q=880001`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text();
      return html.includes('data-event="rating"') && html;
    });
    const steps = [...page.matchAll(/<li data-event="(\w+)">/g)].map((m) => m[1]);
    expect(steps.filter((k) => k === 'question' || k === 'rating')).toEqual(['question', 'rating']);
    expect(page).toContain('Rating question sent to the customer');
    expect(page).toContain('Rating from the customer');
    expect(page).toContain('2/5 with a button; asked what could be better');

    const metrics = await metricsText(gw);
    const labels = { channel: 'telegram', topic: 'payments', group: 'payments' };
    expect(sample(metrics, 'switchboard_csat_asked_total', labels)).toBe(1);
    expect(sample(metrics, 'switchboard_csat_answered_total', labels)).toBe(1);
    expect(sample(metrics, 'switchboard_csat_score_sum', labels)).toBe(2);
  });

  it('forged, foreign, poisoned and oversized presses are refused or dropped, and the gateway keeps serving', async () => {
    await update(tgUpdate.text(880002, 'бонус не начислили', { updateId: 10, messageId: 1 }));
    await update(tgUpdate.text(880003, 'бонус не начислили тоже', { updateId: 11, messageId: 1 }));
    const mine = await ticketOf(880002);
    const theirs = await ticketOf(880003);
    zd.solveTicket(mine.id);
    zd.solveTicket(theirs.id);
    await solved(mine);
    const question = await questionIn(880002);
    const five = question.buttons![0]![4]!.callback_data;

    // No secret, a wrong one: refused before anything is read.
    expect((await update(tgUpdate.callbackQuery(880002, five, { queryId: 'f-1' }), null)).status).toBe(401);
    expect((await update(tgUpdate.callbackQuery(880002, five, { queryId: 'f-2' }), 'wrong-secret')).status).toBe(401);
    // From Telegram, but not a press this chat was asked for: stored as events, dropped by the gateway.
    const [qid] = five.split(':').slice(1);
    for (const [i, data] of [`csat:${qid}:9`, 'csat:__proto__:5', '{"__proto__":{"polluted":true}}', `csat:${qid}:5`].entries()) {
      const chat = i === 3 ? 880003 : 880002;
      expect((await update(tgUpdate.callbackQuery(chat, data, { queryId: `odd-${i}` }))).status).toBe(200);
    }
    // Data longer than Telegram allows, and a body over the server's limit.
    expect((await update(tgUpdate.callbackQuery(880002, 'x'.repeat(1024 * 1024), { queryId: 'huge' }))).status).toBe(413);
    expect((await update(tgUpdate.callbackQuery(880002, 'y'.repeat(200), { queryId: 'long' }))).status).toBe(200);
    await settled(gw);
    expect(mine.tags.some((t) => t.startsWith('csat_'))).toBe(false);
    expect(theirs.tags.some((t) => t.startsWith('csat_'))).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    expect((await update(tgUpdate.callbackQuery(880002, five, { queryId: 'real' }))).status).toBe(200);
    await waitFor('the real rating', () => mine.tags.includes('csat_5'));
    await waitFor('the thanks', () => tg.sent.find((m) => m.chat_id === '880002' && m.text === 'Спасибо за оценку!'));
  });

  it('a ticket is asked once also across a restart: the solved event again afterwards asks nothing', async () => {
    await update(tgUpdate.text(880005, 'ставка не рассчитана', { updateId: 30, messageId: 1 }));
    const ticket = await ticketOf(880005);
    zd.solveTicket(ticket.id);
    await solved(ticket);
    await questionIn(880005);
    await gw.stop();
    await gw.start();
    expect((await solved(ticket)).status).toBe(200);
    await settled(gw);
    expect(tg.sent.filter((m) => m.chat_id === '880005' && m.buttons)).toHaveLength(1);
  });

  it('never asks a customer whose ticket the rules marked responsible gaming', async () => {
    await update(tgUpdate.text(880004, 'Хочу самоисключение на полгода, закройте аккаунт', { updateId: 20, messageId: 1 }));
    const ticket = await ticketOf(880004);
    expect(ticket.tags).toContain('responsible_gaming');
    zd.solveTicket(ticket.id);
    await solved(ticket);
    await waitFor('the skip counted', async () => (await metric(gw, 'switchboard_csat_skipped_total', { channel: 'telegram', reason: 'responsible_gaming' })) === 1);
    expect(tg.sent.filter((m) => m.chat_id === '880004' && m.buttons)).toHaveLength(0);
  });
});

describe('rating question on WhatsApp: a list inside the 24-hour window, the template outside it (real gateway process)', () => {
  const t = withGateway({
    fakes: { graph: { phoneNumberIds: [PHONE_NUMBER_ID] }, zendesk: true },
    config: ({ dataDir }) => `
${yaml.base({ dataDir, admin: true })}
${yaml.zendesk()}
channels:
${yaml.whatsapp('whatsapp', PHONE_NUMBER_ID, '    questionTemplate: { name: csat_rating, languages: { ru: ru, uz: uz, en: en_US } }')}
csat:
  channels: { whatsapp: {} }
  delaySeconds: 0
`,
  });
  let graph: FakeGraph;
  let zd: FakeZendesk;
  let gw: GatewayProcess;
  beforeEach(() => {
    ({ graph, zendesk: zd } = t.fakes);
    gw = t.gw;
  });

  const deliver = async (waId: string, messages: object[]) => {
    const { body, headers } = signedWebhook(waPayload([[waChange({ contacts: [{ waId, name: 'Jasur' }], messages })]]), WA_SECRET);
    expect((await gw.post(`/webhooks/whatsapp`, body, headers)).status).toBe(200);
  };
  const solved = (t: FakeTicket) => zendeskSolved(gw, zd, t);
  const ticketOf = (waId: string) => zendeskTicketOf(zd, `whatsapp:${waId}`);

  it('a customer who last wrote 25 hours ago gets the approved template; the quick reply they tap rates the ticket', async () => {
    const waId = '998901110001';
    graph.closeWindow(waId);
    await deliver(waId, [waMessage.text(waId, 'Здравствуйте, не приходит выигрыш на карту', 'wamid.CSAT-OLD-1', Date.now() - 25 * 3_600_000)]);
    const ticket = await ticketOf(waId);
    zd.solveTicket(ticket.id);
    await solved(ticket);
    const template = await waitFor('the template', () => graph.sent.find((m) => m.to === waId && m.type === 'template'));
    expect(template.template).toMatchObject({ name: 'csat_rating', language: 'ru' });
    expect(template.template!.quickReplies).toHaveLength(5);
    expect(graph.sent.filter((m) => m.to === waId && m.type !== 'template')).toHaveLength(0);
    await waitFor('the note that it went as a template', () => ticket.comments.find((c) => !c.public && c.body.includes('template "csat_rating"')));

    // Tapping a quick reply is a message: it opens the window again, so the thanks can go as text.
    graph.openWindow(waId);
    await deliver(waId, [waMessage.quickReply(waId, template.template!.quickReplies![3]!, '4', 'wamid.CSAT-TAP-1')]);
    await waitFor('the rating', () => ticket.tags.includes('csat_4'));
    await waitFor('the thanks', () => graph.sent.find((m) => m.to === waId && m.text === 'Спасибо за оценку!'));
    expect(ticket.comments.filter((c) => c.public && c.author_id === ticket.requester_id)).toHaveLength(1);
  });

  it('inside the window the question is one list message; the row picked rates the ticket', async () => {
    const waId = '998901110002';
    await deliver(waId, [waMessage.text(waId, 'Salom, bonus tushmadi', 'wamid.CSAT-NEW-1')]);
    const ticket = await ticketOf(waId);
    zd.solveTicket(ticket.id);
    await solved(ticket);
    const list = await waitFor('the list message', () => graph.sent.find((m) => m.to === waId && m.type === 'interactive'));
    expect(list.interactive).toMatchObject({ type: 'list', button: 'Baholash' });
    expect(list.interactive!.rows.map((r) => r.title)).toEqual(['1 ⭐', '2 ⭐', '3 ⭐', '4 ⭐', '5 ⭐']);
    await deliver(waId, [waMessage.listReply(waId, list.interactive!.rows[4]!.id, '5 ⭐', 'wamid.CSAT-ROW-1', list.wamid)]);
    await waitFor('the rating', () => ticket.tags.includes('csat_5'));
    await waitFor('the thanks', () => graph.sent.find((m) => m.to === waId && m.text === 'Bahoingiz uchun rahmat!'));
  });
});

describe("rating question to a web form's customer by email; the link page records once (real gateway process, Freshdesk)", () => {
  const t = withGateway({
    fakes: { freshdesk: true, smtp: true },
    env: { CSAT_LINK_SECRET: LINK_SECRET },
    // No IMAP server: this mailbox only sends here (its watcher retries in the background).
    config: async ({ dataDir, fakes }) => `
${yaml.base({ dataDir, admin: true, publicUrl: 'https://support-gw.example.test' })}
${yaml.freshdesk()}
channels:
${yaml.contact()}
  mail:
    kind: email
    address: support@acme.test
    name: Acme Support
    imap: { host: 127.0.0.1, port: ${await freePort()}, secure: false, user: support, password: x }
    smtp: { host: 127.0.0.1, port: ${fakes.smtp.port} }
csat:
  channels: { contact: { via: mail } }
  delaySeconds: 0
  linkSecret: \${CSAT_LINK_SECRET}
`,
  });
  let fd: FakeFreshdesk;
  let sink: SmtpSink;
  let gw: GatewayProcess;
  beforeEach(() => {
    ({ freshdesk: fd, smtp: sink } = t.fakes);
    gw = t.gw;
  });

  const page = (path: string, init?: RequestInit) => fetch(`${gw.url}${path}`, init).then(async (r) => ({ status: r.status, headers: r.headers, text: await r.text() }));
  const form = (body: string) => ({ method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } });

  it('GET shows the rating without recording it; POST records it once (rating, tag, note with the comment); replays, other scores and forgeries change nothing', async () => {
    const submitted = await gw.post('/forms/contact', { email: 'dilnoza@example.com', message: 'Вывод не пришёл уже неделю', submissionId: 'csat-form-1' });
    expect(submitted.status).toBeLessThan(300);
    const ticket = await waitFor('the ticket', () => fd.tickets[0]);
    fd.setStatus(ticket.id, 4);
    // What the Freshdesk automation "Status is changed to Resolved" posts (docs/freshdesk.md).
    const event = await gw.post('/helpdesk/events', { ticket_id: String(ticket.id), event: 'solved', tags: ticket.tags.join(', ') }, { 'X-Switchboard-Secret': FD_SECRET });
    expect(event.status).toBe(200);

    const mail = await waitFor('the rating email', () => sink.received.find((m) => m.to.includes('dilnoza@example.com')));
    expect(mail.parsed.subject).toBe('Оцените, пожалуйста, нашу помощь');
    const tokens = [...(mail.parsed.text ?? '').matchAll(/https:\/\/support-gw\.example\.test\/csat\/(\S+)/g)].map((m) => m[1]!);
    expect(tokens).toHaveLength(5);
    expect(mail.parsed.html).toContain(`https://support-gw.example.test/csat/${tokens[1]}`);

    // A mail scanner or link preview fetches the link: it sees the page, nothing is recorded.
    const shown = await page(`/csat/${tokens[1]}`);
    expect(shown.status).toBe(200);
    expect(shown.text).toContain('<form method="post">');
    expect(shown.text).toContain('name="comment"');
    expect(shown.headers.get('cache-control')).toBe('no-store');
    expect(shown.headers.get('referrer-policy')).toBe('no-referrer');
    await settled(gw);
    expect(fd.ratings).toHaveLength(0);

    const done = await page(`/csat/${tokens[1]}`, form('comment=' + encodeURIComponent('Ответ пришёл через неделю, это долго')));
    expect(done.status).toBe(200);
    expect(done.text).toContain('Спасибо! Ваша оценка сохранена.');
    await waitFor('the Freshdesk rating', () => fd.ratings.length === 1);
    expect(fd.ratings[0]).toMatchObject({ ticket_id: ticket.id, ratings: { default_question: -102 } });
    await waitFor('the tag', () => ticket.tags.includes('csat_2'));
    await waitFor('the comment as a note', () => ticket.conversations.find((c) => c.private && c.body_text.includes('через неделю')));

    // The same link again, another score's link, a GET afterwards: already recorded.
    expect((await page(`/csat/${tokens[1]}`, form('comment=again'))).text).toContain('уже сохранена');
    expect((await page(`/csat/${tokens[4]}`, form(''))).text).toContain('уже сохранена');
    expect((await page(`/csat/${tokens[4]}`)).text).toContain('уже сохранена');

    // Forged, tampered, 99, junk, a poisoned key, a huge comment.
    const [q, , exp, sig] = tokens[1]!.split('.');
    expect((await page(`/csat/${q}.5.${exp}.${sig}`, form(''))).status).toBe(403);
    expect((await page(`/csat/${q}.99.${exp}.${sig}`, form(''))).status).toBe(403);
    expect((await page('/csat/__proto__', form(''))).status).toBe(400);
    // A poisoned key is refused by the gateway's parsers, as on every route (docs/security.md).
    expect((await page(`/csat/${tokens[0]}`, form('__proto__=1&constructor=2'))).status).toBe(400);
    expect((await page(`/csat/${tokens[0]}`, form(`comment=${'x'.repeat(40_000)}`))).status).toBe(413);
    await settled(gw);
    expect(fd.ratings).toHaveLength(1);
    expect(ticket.conversations.filter((c) => c.private && c.body_text.includes('rated this ticket'))).toHaveLength(1);
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
  });
});
