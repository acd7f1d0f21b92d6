import { beforeEach, describe, expect, it } from 'vitest';
import { dovecotSkip, mail, type Dovecot } from '../fakes/dovecot.ts';
import type { SmtpSink } from '../fakes/smtp-sink.ts';
import type { FakeZendesk } from '../fakes/zendesk-server.ts';
import { CREDENTIALS, settled, withGateway, yaml } from '../fixtures/gateway.ts';
import { type GatewayProcess, waitFor } from './harness.ts';

/**
 * Email end to end: the `switchboard start` process reading two mailboxes of a real Dovecot,
 * sending through a real SMTP server, with a fake Zendesk as the helpdesk.
 */

const ZD_SECRET = CREDENTIALS.zendesk.webhookSecret;

describe.skipIf(dovecotSkip())('email into Zendesk and back (real gateway process, Dovecot, SMTP)', () => {
  // Each test reads its own two mailboxes with a fresh gateway and store.
  let folders: { support: string; payments: string };
  let seq = 0;
  const t = withGateway({
    fakes: { dovecot: true, smtp: true, zendesk: true },
    per: 'test',
    config: async ({ dataDir, fakes }) => {
      seq += 1;
      folders = { support: `Support${seq}`, payments: `Payments${seq}` };
      await fakes.dovecot.createMailbox(folders.support);
      await fakes.dovecot.createMailbox(folders.payments);
      const box = (mailbox: string, address: string, name: string) => ({ address, name, mailbox, dovecot: fakes.dovecot, smtp: fakes.smtp });
      return `
${yaml.base({ dataDir, delivery: '{ maxAttempts: 60, baseDelayMs: 100, maxDelayMs: 1500, concurrency: 4 }' })}
timezone: Asia/Tashkent
${yaml.zendesk(`  groups: ${yaml.groups}`)}
channels:
${yaml.email('support', box(folders.support, 'support@acme.test', 'Acme Support'))}
${yaml.email('payments', box(folders.payments, 'payments@acme.test', 'Acme Payments'), '    autoReplyLimitPerHour: 0')}
${yaml.igaming}
rules:
  - name: payments-mailbox
    when: { channel: payments }
    set: { tags: [payments_mailbox], priority: high }
  - name: email-ack
    when: { channelKind: email, first: true }
    reply: ack
replies:
  ack: { en: "We received your message and will answer soon.", ru: "Мы получили ваше письмо и скоро ответим." }
`;
    },
  });
  let dv: Dovecot;
  let sink: SmtpSink;
  let zd: FakeZendesk;
  let gw: GatewayProcess;
  beforeEach(() => {
    ({ dovecot: dv, smtp: sink, zendesk: zd } = t.fakes);
    gw = t.gw;
  });

  const agentAnswers = async (ticketId: number, text: string) => {
    zd.addAgentComment(ticketId, text);
    const body = JSON.stringify({ ticket_id: ticketId });
    expect((await gw.post('/helpdesk/events', body, zd.signWebhook(body, ZD_SECRET))).status).toBe(200);
  };

  it('an email becomes a ticket; the answer goes out threaded; the reply lands on the same ticket; an out-of-office and a bounce make nothing', async () => {
    await dv.append(mail({
      from: 'Dilnoza Karimova <dilnoza@customer.test>', to: 'support@acme.test', subject: 'Вывод не пришёл',
      body: 'Здравствуйте, вывод не пришёл уже 3 дня', messageId: '<first@customer.test>',
    }), { mailbox: folders.support });

    const ticket = await waitFor('the ticket', () => zd.tickets[0]);
    const requester = zd.users.find((u) => u.id === ticket.requester_id)!;
    expect(requester.email).toBe('dilnoza@customer.test');
    expect(requester.name).toBe('Dilnoza Karimova');
    expect(ticket.comments[0]!.body).toContain('вывод не пришёл уже 3 дня');
    expect(ticket.tags).toEqual(expect.arrayContaining(['payments', 'withdrawal']));
    expect(ticket.group_id).toBe(101);
    await waitFor('the mail marked read', async () => (await dv.messages(folders.support))[0]?.seen);

    // The automatic acknowledgement: in Russian, marked as automatic, threaded.
    const ack = await waitFor('the acknowledgement', () => sink.received.find((r) => r.header('auto-submitted') === 'auto-replied'));
    expect(ack.parsed.text).toContain('Мы получили ваше письмо');
    expect(ack.header('in-reply-to')).toBe('<first@customer.test>');

    await agentAnswers(ticket.id, 'Проверили: вывод отправлен сегодня.');
    const answer = await waitFor('the agent answer at the SMTP server', () => sink.received.find((r) => r.parsed.text?.includes('вывод отправлен')));
    expect(answer.from).toBe('support@acme.test');
    expect(answer.to).toEqual(['dilnoza@customer.test']);
    expect(answer.header('from')).toBe('Acme Support <support@acme.test>');
    expect(answer.parsed.subject).toBe('Re: Вывод не пришёл');
    expect(answer.header('in-reply-to')).toBe('<first@customer.test>');
    expect(answer.header('references')).toBe('<first@customer.test>');
    expect(answer.header('auto-submitted')).toBeUndefined();
    const ourId = answer.parsed.messageId!;

    // Her mail client answers our mail: threading headers and the quoted history.
    await dv.append(mail({
      from: 'Dilnoza Karimova <dilnoza@customer.test>', subject: 'Re: Вывод не пришёл',
      body: 'Спасибо, деньги пришли!\n\nпт, 12 янв. 2024 г. в 10:00, Acme Support <support@acme.test>:\n> Проверили: вывод отправлен сегодня.',
      messageId: '<second@customer.test>',
      headers: { 'In-Reply-To': ourId, References: `<first@customer.test> ${ourId}` },
    }), { mailbox: folders.support });
    const followUp = await waitFor('the reply on the same ticket', () => ticket.comments.find((c) => c.public && c.body.includes('деньги пришли')));
    expect(followUp.body).not.toContain('Проверили');
    expect(followUp.author_id).toBe(ticket.requester_id);

    // Her out-of-office, and a bounce of our answer.
    await dv.append(mail({
      from: 'dilnoza@customer.test', subject: 'Автоответ: Re: Вывод не пришёл', body: 'Я в отпуске до понедельника',
      headers: { 'Auto-Submitted': 'auto-replied', 'In-Reply-To': ourId },
    }), { mailbox: folders.support });
    await dv.append([
      'Return-Path: <>', 'From: Mail Delivery System <MAILER-DAEMON@mx.customer.test>', 'To: support@acme.test',
      'Subject: Undelivered Mail Returned to Sender', `Date: ${new Date().toUTCString()}`, 'Message-ID: <dsn-1@mx.customer.test>',
      'MIME-Version: 1.0', 'Content-Type: multipart/report; report-type=delivery-status; boundary="R"', '',
      '--R', 'Content-Type: text/plain', '', '<dilnoza@customer.test>: host mx.customer.test said: 552 5.2.2 Mailbox full',
      '--R', 'Content-Type: text/rfc822-headers', '', `Message-ID: ${ourId}`, '--R--', '',
    ].join('\r\n'), { mailbox: folders.support });
    await waitFor('the bounce as a private note', () => ticket.comments.find((c) => !c.public && c.body.includes('Mailbox full')));
    // A mail after them is taken: they were looked at and passed over.
    await dv.append(mail({ from: 'other@customer.test', subject: 'Бонус', body: 'бонус не начислили' }), { mailbox: folders.support });
    await waitFor('the next ticket', () => zd.tickets.length === 2);

    expect(zd.tickets[0]!.comments.filter((c) => c.public).map((c) => c.body.includes('отпуске'))).not.toContain(true);
    // One acknowledgement per conversation, one agent answer; nothing was sent to the out-of-office or the bounce.
    await waitFor('the second acknowledgement', () => sink.received.filter((r) => r.header('auto-submitted')).length === 2);
    expect(sink.received.filter((r) => r.to.includes('dilnoza@customer.test'))).toHaveLength(2);
    expect(sink.received.some((r) => r.to.some((t) => /mailer-daemon/i.test(t)))).toBe(false);
  });

  it('each mailbox is its own channel: payments@ has its own rules and limits and answers from its own address', async () => {
    await dv.append(mail({ from: 'bek@customer.test', to: 'payments@acme.test', subject: 'Account', body: 'a question about my account settings' }), { mailbox: folders.payments });
    const ticket = await waitFor('the ticket', () => zd.tickets[0]);
    expect(ticket.tags).toContain('payments_mailbox');
    expect(ticket.priority).toBe('high');
    // This mailbox sends no automatic replies; the agents see that the acknowledgement was held back.
    await waitFor('the note about the held-back acknowledgement', () => ticket.comments.find((c) => !c.public && c.body.includes('did not send the automatic reply "ack"')));
    await agentAnswers(ticket.id, 'Your settings are fixed.');
    const answer = await waitFor('the answer', () => sink.received.find((r) => r.parsed.text?.includes('settings are fixed')));
    expect(answer.header('from')).toBe('Acme Payments <payments@acme.test>');
    expect(sink.received).toHaveLength(1);
  });

  it('the gateway killed (-9) while mail arrives and restarted: every message makes exactly one ticket', async () => {
    const subjects = Array.from({ length: 8 }, (_, i) => `Case ${i + 1}`);
    for (const s of subjects.slice(0, 5)) await dv.append(mail({ from: `c${s.slice(5)}@customer.test`, subject: s, body: `question ${s}` }), { mailbox: folders.support });
    await waitFor('the first ticket', () => zd.tickets.length >= 1);
    await gw.kill('SIGKILL');
    for (const s of subjects.slice(5)) await dv.append(mail({ from: `c${s.slice(5)}@customer.test`, subject: s, body: `question ${s}` }), { mailbox: folders.support });
    await gw.start();

    await waitFor('a ticket for every mail', () => zd.tickets.length >= subjects.length, 30_000);
    await waitFor('every mail marked read', async () => (await dv.messages(folders.support)).every((m) => m.seen));
    // Whatever was in flight at the kill is neither lost nor doubled.
    await settled(gw);
    const asked = zd.tickets.map((t) => /question (Case \d+)/.exec(t.comments[0]!.body)?.[1]);
    expect(asked.sort()).toEqual([...subjects].sort());
  });
});
