import { beforeEach, describe, expect, it } from 'vitest';
import { signPlayerToken } from '../../src/core/identity/player-token.ts';
import { dovecotSkip, mail, type Dovecot } from '../fakes/dovecot.ts';
import type { SmtpSink } from '../fakes/smtp-sink.ts';
import { tgUpdate, type FakeTelegram } from '../fakes/telegram-server.ts';
import type { FakeTicket, FakeZendesk } from '../fakes/zendesk-server.ts';
import { CREDENTIALS, withGateway, yaml } from '../fixtures/gateway.ts';
import { type GatewayProcess, waitFor } from './harness.ts';

/**
 * The agent chooses the reply channel, and a verified email reply links: the real gateway process
 * with a web form, Telegram, a support mailbox (real Dovecot and SMTP) and a fake Zendesk whose
 * agent events carry the ticket's tags (Zendesk's `ticket.comment_added` event).
 */

const ZD_SECRET = CREDENTIALS.zendesk.webhookSecret;
const TG_SECRET = CREDENTIALS.telegram.secret;
const LINK_SECRET = 'player-link-secret-reply-via-0123456789';

describe.skipIf(dovecotSkip())('the agent chooses the reply channel; a verified email reply links (real gateway process)', () => {
  // Each test reads its own mailbox with a fresh gateway and store.
  let folder: string;
  let seq = 0;
  let updateId = 1;
  const t = withGateway({
    fakes: { dovecot: true, smtp: true, zendesk: true, telegram: true },
    per: 'test',
    env: { LOG_LEVEL: 'info', PLAYER_LINK_SECRET: LINK_SECRET },
    config: async ({ dataDir, fakes }) => {
      folder = `Support${++seq}`;
      await fakes.dovecot.createMailbox(folder);
      return `
${yaml.base({ dataDir })}
identity: { join: open-ticket }
${yaml.zendesk('  fields: { player_id: 900001 }')}
channels:
${yaml.telegram('telegram', '    playerLinkSecret: ${PLAYER_LINK_SECRET}')}
${yaml.site()}
${yaml.email('support', { address: 'support@acme.test', name: 'Acme Support', mailbox: folder, dovecot: fakes.dovecot, smtp: fakes.smtp })}
`;
    },
  });
  let dv: Dovecot;
  let sink: SmtpSink;
  let zd: FakeZendesk;
  let tg: FakeTelegram;
  let gw: GatewayProcess;
  beforeEach(() => {
    ({ dovecot: dv, smtp: sink, zendesk: zd, telegram: tg } = t.fakes);
    gw = t.gw;
  });

  const telegram = (userId: number, text: string) =>
    gw.post('/webhooks/telegram', tgUpdate.text(userId, text, { updateId: updateId, messageId: updateId++, firstName: `Player${userId}` }), { 'x-telegram-bot-api-secret-token': TG_SECRET });
  const start = (userId: number, player: string) => telegram(userId, `/start ${signPlayerToken(player, LINK_SECRET, new Date(Date.now() + 3600_000))}`);
  const form = (fields: Record<string, string>) => gw.post('/forms/site', fields);
  const email = (from: string, subject: string, body: string, headers: Record<string, string> = {}, messageId?: string) =>
    dv.append(mail({ from, subject, body, headers, ...(messageId ? { messageId } : {}) }), { mailbox: folder });
  /** An agent's public reply, and the event Zendesk sends for it: `ticket.comment_added` with the ticket's tags in `detail`. */
  const agentAnswers = async (ticket: FakeTicket, text: string) => {
    zd.addAgentComment(ticket.id, text);
    const body = JSON.stringify({ type: 'zen:event-type:ticket.comment_added', id: `ev-${ticket.id}-${text.length}`, detail: { id: String(ticket.id), tags: ticket.tags } });
    expect((await gw.post('/helpdesk/events', body, zd.signWebhook(body, ZD_SECRET))).status).toBe(200);
  };
  const commentsWith = (t: FakeTicket, text: string) => t.comments.filter((c) => c.body.includes(text));
  const telegramGot = (text: string) => tg.sent.some((m) => (m.text ?? '').includes(text));
  const mailsWith = (text: string) => sink.received.filter((r) => r.parsed.text?.includes(text));

  it('a customer known on Telegram and email: the agent tags the ticket and the reply arrives by email, not Telegram', async () => {
    // Player 777 writes through the site's form (the email field is typed: a claim) and signs in to Telegram.
    expect((await form({ email: 'dilnoza@customer.test', player: '777', message: 'Не могу вывести выигрыш' })).status).toBeLessThan(300);
    const ticket = await waitFor('the form ticket', () => zd.tickets[0]);
    await start(801, '777');
    await waitFor('the /start on the same ticket', () => commentsWith(ticket, 'signed in as player 777').length === 1);

    // The typed address proves nothing: a mail from it is a conversation of its own.
    await email('dilnoza@customer.test', 'Ещё вопрос', 'Пишу с почты', {}, '<before@customer.test>');
    const apart = await waitFor('the mail on a ticket of its own', () => zd.tickets.find((t) => t.id !== ticket.id));
    expect(commentsWith(ticket, 'Пишу с почты')).toHaveLength(0);

    await telegram(801, 'Документы отправил');
    await waitFor('the Telegram message', () => commentsWith(ticket, 'Документы отправил').length === 1);
    // Untagged, the reply goes where the customer wrote last: Telegram.
    await agentAnswers(ticket, 'Спасибо, проверяем документы.');
    await waitFor('the reply in Telegram', () => telegramGot('проверяем документы'));
    expect(mailsWith('проверяем документы')).toHaveLength(0);

    // The agent tags the ticket reply_via_support: the gateway knows no mail conversation of this customer,
    // so it writes to the address they gave, and says so on the ticket.
    ticket.tags.push('reply_via_support');
    await agentAnswers(ticket, 'Выписку отправили на почту.');
    const sent = await waitFor('the reply by email', () => mailsWith('Выписку отправили')[0]);
    expect(sent.to).toEqual(['dilnoza@customer.test']);
    expect(telegramGot('Выписку отправили')).toBe(false);
    await waitFor('the note on the ticket', () => ticket.comments.some((c) => !c.public && c.body.includes('sent by email to dilnoza@customer.test (the address the customer gave; not verified yet')));

    // She answers that mail from that address: it lands on the ticket, and now proves the address is hers.
    await email('Dilnoza <dilnoza@customer.test>', `Re: ${sent.parsed.subject}`, 'Получила, спасибо!', { 'In-Reply-To': sent.parsed.messageId!, References: sent.parsed.messageId! }, '<answer@customer.test>');
    await waitFor('her answer on the ticket', () => commentsWith(ticket, 'Получила, спасибо').length === 1);

    // She writes on Telegram again; the ticket still says reply_via_support: the reply goes by email, in her thread.
    await telegram(801, 'А когда деньги придут?');
    await waitFor('the Telegram question', () => commentsWith(ticket, 'когда деньги придут').length === 1);
    await agentAnswers(ticket, 'Деньги придут сегодня.');
    const second = await waitFor('the second reply by email', () => mailsWith('Деньги придут сегодня')[0]);
    expect(second.to).toEqual(['dilnoza@customer.test']);
    expect(second.header('in-reply-to')).toBe('<answer@customer.test>');
    expect(telegramGot('Деньги придут сегодня')).toBe(false);

    // Without the tag, replies go back to where she wrote last: Telegram.
    ticket.tags.splice(ticket.tags.indexOf('reply_via_support'), 1);
    await agentAnswers(ticket, 'Если не придут, напишите нам.');
    await waitFor('the untagged reply in Telegram', () => telegramGot('Если не придут'));
    expect(mailsWith('Если не придут')).toHaveLength(0);

    // The verified address is hers now: a new mail from it joins her open ticket instead of opening one.
    const before = zd.tickets.length;
    await email('dilnoza@customer.test', 'Новый вопрос', 'Бонус не начислили', {}, '<after@customer.test>');
    const joined = await waitFor('the new mail on her ticket', () => zd.tickets.find((t) => commentsWith(t, 'Бонус не начислили').length === 1));
    expect(zd.tickets).toHaveLength(before);
    expect([ticket.id, apart.id]).toContain(joined.id);
    await waitFor('the note that it joined', () => commentsWith(joined, 'came in on support (email, email) from the same customer (player 777)').length === 1);
  }, 90_000);

  it('a typed address stays a claim, and someone else answering our mail links nothing', async () => {
    await start(802, '888');
    const ticket = await waitFor('the Telegram ticket', () => zd.tickets[0]);
    await telegram(802, 'Моя почта brother@customer.test');
    await waitFor('the typed address on the ticket', () => commentsWith(ticket, 'brother@customer.test').length === 1);
    // Player 888 also writes through the form, with their sister's address: it joins the open ticket.
    await form({ email: 'sister@customer.test', player: '888', message: 'Пишу с сайта' });
    await waitFor('the form message on the ticket', () => commentsWith(ticket, 'Пишу с сайта').length === 1);

    ticket.tags.push('reply_via_support');
    await agentAnswers(ticket, 'Ответ по почте.');
    const sent = await waitFor('the reply by email', () => mailsWith('Ответ по почте')[0]);
    expect(sent.to).toEqual(['sister@customer.test']);

    // A mail from her address that only names the ticket ([#id] in the subject, no reply to our mail) is
    // threaded there for the agents, and proves nothing.
    await email('sister@customer.test', `[#${ticket.id}] по поводу заявки`, 'Сестра без ответа на письмо');
    await waitFor('that mail on the ticket', () => commentsWith(ticket, 'Сестра без ответа на письмо').length === 1);
    // The brother answers the mail he was forwarded: his words reach the ticket of the thread, but he is not linked.
    await email('brother@customer.test', `Re: ${sent.parsed.subject}`, 'Это брат, пересылаю', { 'In-Reply-To': sent.parsed.messageId!, References: sent.parsed.messageId! });
    await waitFor('the forwarded answer on the ticket', () => commentsWith(ticket, 'Это брат').length === 1);
    // Nor does a mail from him that names her address as Reply-To: the address our mail went to must be the sender's.
    await email('brother@customer.test', `Re: ${sent.parsed.subject}`, 'От имени сестры', { 'In-Reply-To': sent.parsed.messageId!, 'Reply-To': 'sister@customer.test' });
    await waitFor('that answer on the ticket', () => commentsWith(ticket, 'От имени сестры').length === 1);
    // Neither his typed address nor his answer made him the player: his own mail opens a ticket of its own,
    // and so does one from the address nobody verified.
    await email('brother@customer.test', 'Вопрос', 'Мой собственный вопрос');
    await email('sister@customer.test', 'Вопрос', 'Вопрос сестры');
    const own = await waitFor('his ticket', () => zd.tickets.find((t) => commentsWith(t, 'Мой собственный вопрос').length === 1));
    const hers = await waitFor('her ticket', () => zd.tickets.find((t) => commentsWith(t, 'Вопрос сестры').length === 1));
    expect(own.id).not.toBe(ticket.id);
    expect(hers.id).not.toBe(ticket.id);
    expect(zd.identitiesOf(ticket.requester_id).map((i) => i.value)).not.toContain('brother@customer.test');
  }, 90_000);
});
