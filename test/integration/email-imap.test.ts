import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createEmailChannel } from '../../connectors/channels/email/channel.ts';
import type { InboxTuning } from '../../connectors/channels/email/inbox.ts';
import { EmailOptions } from '../../connectors/channels/email/options.ts';
import type { ChannelInstance, Conversation } from '../../src/core/connector.ts';
import type { InboundDraft } from '../../src/core/message.ts';
import { Dovecot, dovecotSkip, mail } from '../fakes/dovecot.ts';
import { startSmtpSink, type SmtpSink } from '../fakes/smtp-sink.ts';
import { channelContext } from '../fixtures/channel-context.ts';
import { waitFor } from '../fixtures/wait.ts';

/**
 * The email channel against a real Dovecot (IMAP) and a real SMTP server: what is fetched,
 * when, how often, and what becomes of it. Each test watches its own folder.
 */

const FAST: InboxTuning = { backoff: { initialMs: 50, maxMs: 300 }, autoIdleDelayMs: 100, resyncMs: 60_000, batchSize: 2 };

let dv: Dovecot;
let sink: SmtpSink;
const running: ChannelInstance[] = [];
let folderSeq = 0;

beforeAll(async () => {
  if (dovecotSkip()) return;
  dv = await Dovecot.start();
  sink = await startSmtpSink();
});
afterAll(async () => {
  await dv?.close();
  await sink?.close();
});
afterEach(async (ctx) => {
  for (const c of running.splice(0)) await c.stop?.();
  await dv?.startServer();
  if (ctx.task.result?.state === 'fail') console.error((await dv?.log())?.slice(-3000));
});

/** A channel context that records (blobs in memory, a settable ticket → conversation map), and every key accept() was called with. */
function mailContext() {
  const rec = channelContext({ channelId: 'support' });
  return { ...rec, accepted: () => rec.acceptCalls.flat() };
}
type MailContext = ReturnType<typeof mailContext>;

async function newFolder(): Promise<string> {
  const name = `T${++folderSeq}`;
  await dv.createMailbox(name);
  return name;
}

function open(m: MailContext, folder: string, extra: Record<string, unknown> = {}): ChannelInstance {
  const options = EmailOptions.parse({
    address: 'support@acme.test',
    name: 'Acme Support',
    imap: { ...dv.imap, mailbox: folder },
    smtp: { host: sink.host, port: sink.port },
    ...extra,
  });
  const channel = createEmailChannel(options, m.ctx, FAST);
  running.push(channel);
  return channel;
}

const byText = (m: MailContext, text: string) => m.stored().find((d) => d.text.includes(text));

/** What the pipeline keeps in the link, built from the stored message. */
function conversationOf(d: InboundDraft): Conversation {
  return {
    channelId: 'support',
    externalId: d.conversation.externalId,
    subject: d.conversation.subject,
    threadRefs: d.conversation.threadRefs,
    sender: d.sender,
    meta: { lastMessageId: d.externalId },
  };
}

describe.skipIf(dovecotSkip())('email channel against a real IMAP server', () => {
  it('takes unread mail on the first start and new mail as it arrives (IDLE), each once, marking it read after storing', async () => {
    const folder = await newFolder();
    await dv.append(mail({ from: 'Old Reader <old@customer.test>', subject: 'already read', body: 'read by a person before' }), { mailbox: folder, flags: ['\\Seen'] });
    await dv.append(mail({ from: 'Azamat <azamat@customer.test>', subject: 'Withdrawal', body: 'My withdrawal has not arrived for 3 days', messageId: '<w1@customer.test>' }), { mailbox: folder });
    const m = mailContext();
    const channel = open(m, folder);
    await channel.start?.();

    const first = await waitFor('the unread mail', () => byText(m, 'withdrawal has not arrived'));
    expect(first).toMatchObject({
      kind: 'message',
      externalId: '<w1@customer.test>',
      conversation: { externalId: '<w1@customer.test>', subject: 'Withdrawal', threadRefs: ['<w1@customer.test>'] },
      sender: { externalId: 'azamat@customer.test', email: 'azamat@customer.test', displayName: 'Azamat' },
      meta: { followUp: false, mailbox: folder },
    });
    await waitFor('ready', () => channel.status?.().ready);
    await dv.append(mail({ from: 'bek@customer.test', subject: 'Bonus', body: 'bonus not credited', messageId: '<b1@customer.test>' }), { mailbox: folder });
    await waitFor('the new mail, pushed by IDLE', () => byText(m, 'bonus not credited'));

    const states = await waitFor('both marked read', async () => {
      const s = await dv.messages(folder);
      return s.every((x) => x.seen) && s;
    });
    expect(states).toHaveLength(3);
    expect(m.stored().map((d) => d.text)).toEqual(['My withdrawal has not arrived for 3 days', 'bonus not credited']);
    expect(m.accepted()).toHaveLength(2);
  });

  it('IMAP server stopped while mail arrives and started later: everything since the cursor is fetched, each message once', async () => {
    const folder = await newFolder();
    const m = mailContext();
    const channel = open(m, folder);
    await dv.append(mail({ from: 'a@customer.test', subject: 'one', body: 'before the outage' }), { mailbox: folder });
    await channel.start?.();
    await waitFor('the first mail', () => byText(m, 'before the outage'));
    await waitFor('ready', () => channel.status?.().ready);

    await dv.stopServer();
    await waitFor('the channel to notice', () => channel.status?.().ready === false);
    expect(channel.status?.().detail).toMatch(/IMAP/);
    // Mail keeps arriving into the store while IMAP is down.
    await dv.deliverToStore(mail({ from: 'b@customer.test', subject: 'two', body: 'during the outage 1' }), folder);
    await dv.deliverToStore(mail({ from: 'c@customer.test', subject: 'three', body: 'during the outage 2' }), folder);
    await waitFor('a reconnect that failed', () => m.logs.some((l) => l.level === 'error' && l.msg?.includes('reconnecting')));
    await dv.startServer();

    await waitFor('both mails from the outage', () => byText(m, 'during the outage 1') && byText(m, 'during the outage 2'));
    await waitFor('ready again', () => channel.status?.().ready);
    await dv.append(mail({ from: 'd@customer.test', subject: 'four', body: 'after the outage' }), { mailbox: folder });
    await waitFor('mail after the outage', () => byText(m, 'after the outage'));

    expect(m.accepted()).toHaveLength(4);
    expect(new Set(m.accepted()).size).toBe(4);
    expect(m.logs.some((l) => l.level === 'error' && l.msg?.includes('reconnecting'))).toBe(true);
  });

  it('gateway down for a while: on restart the cursor takes up exactly what arrived meanwhile, even what a person marked unread', async () => {
    const folder = await newFolder();
    const m = mailContext();
    let channel = open(m, folder);
    await dv.append(mail({ from: 'a@customer.test', subject: 'one', body: 'first mail' }), { mailbox: folder });
    await channel.start?.();
    await waitFor('the first mail', () => byText(m, 'first mail'));
    await waitFor('marked read', async () => (await dv.messages(folder))[0]!.seen);
    await channel.stop?.();

    // A person marks it unread again; two new mails arrive while the gateway is down.
    const c = await dv.client();
    const lock = await c.getMailboxLock(folder);
    await c.messageFlagsRemove('1:*', ['\\Seen']);
    lock.release();
    await c.logout();
    await dv.append(mail({ from: 'b@customer.test', subject: 'two', body: 'second mail' }), { mailbox: folder });
    await dv.append(mail({ from: 'c@customer.test', subject: 'three', body: 'third mail' }), { mailbox: folder });

    channel = open(m, folder);
    await channel.start?.();
    await waitFor('the two new mails', () => byText(m, 'second mail') && byText(m, 'third mail'));
    await waitFor('in sync', () => channel.status?.().ready);
    expect(m.accepted()).toHaveLength(3);
    // The cursor kept the first mail out: it was not even fetched again.
    expect(m.logs.filter((l) => l.msg === 'email: message taken before; only marked')).toHaveLength(0);
  });

  it('a changed UIDVALIDITY: the folder is rescanned, mail taken before is recognised by Message-ID, only new mail is taken', async () => {
    const folder = await newFolder();
    const m = mailContext();
    let channel = open(m, folder);
    await channel.start?.();
    await waitFor('ready', () => channel.status?.().ready);
    await dv.append(mail({ from: 'a@customer.test', subject: 'one', body: 'mail A' }), { mailbox: folder });
    await dv.append(mail({ from: 'b@customer.test', subject: 'two', body: 'mail B' }), { mailbox: folder });
    await waitFor('A and B', () => byText(m, 'mail A') && byText(m, 'mail B'));
    await channel.stop?.();

    const before = await dv.uidValidity(folder);
    await dv.stopServer();
    await dv.forgetUids(folder);
    await dv.deliverToStore(mail({ from: 'c@customer.test', subject: 'three', body: 'mail C' }), folder);
    await dv.startServer();
    expect(await dv.uidValidity(folder)).not.toBe(before);

    channel = open(m, folder);
    await channel.start?.();
    await waitFor('C', () => byText(m, 'mail C'));
    const rescanned = () => m.logs.some((l) => l.msg === 'email: pass over the folder finished' && (l.obj as { pass?: string } | undefined)?.pass === 'rescan');
    await waitFor('the rescan to finish', rescanned);
    // A and B were not taken again. Whether the rescan looked at them at all (and only marked
    // them) is Dovecot's call: SEARCH SINCE on a freshly rebuilt index sometimes leaves them out.
    expect(m.accepted()).toHaveLength(3);
    expect(m.logs.some((l) => l.level === 'warn' && l.msg?.includes('UIDVALIDITY changed'))).toBe(true);
    expect(m.logs.filter((l) => l.msg === 'email: message taken before; only marked').length).toBeLessThanOrEqual(2);
  });

  it("a customer's answer to our reply lands in the same conversation, without the quoted history", async () => {
    const folder = await newFolder();
    const m = mailContext();
    const channel = open(m, folder);
    await channel.start?.();
    await dv.append(mail({ from: 'Dilnoza <dilnoza@customer.test>', subject: 'Вывод средств', body: 'Вывод не пришёл', messageId: '<q1@customer.test>' }), { mailbox: folder });
    const first = await waitFor('the first mail', () => byText(m, 'Вывод не пришёл'));

    const result = await channel.send(conversationOf(first), { text: 'Проверили, деньги отправлены.', files: [], replyId: '501:9001' });
    const sent = await waitFor('our reply at the SMTP server', () => sink.received.find((r) => r.parsed.text?.includes('деньги отправлены')));
    expect(result.externalIds).toEqual([sent.parsed.messageId]);

    await dv.append(mail({
      from: 'Dilnoza <dilnoza@customer.test>',
      subject: 'Re: Вывод средств',
      body: 'Спасибо, пришли!\n\nпн, 8 янв. 2024 г. в 10:00, Acme Support <support@acme.test>:\n> Проверили, деньги отправлены.',
      messageId: '<q2@customer.test>',
      headers: { 'In-Reply-To': sent.parsed.messageId!, References: `<q1@customer.test> ${sent.parsed.messageId}` },
    }), { mailbox: folder });
    const answer = await waitFor('the answer', () => byText(m, 'Спасибо'));
    expect(answer.conversation.externalId).toBe('<q1@customer.test>');
    expect(answer.text).toBe('Спасибо, пришли!');
    expect(answer.meta).toMatchObject({ followUp: true, threadedBy: 'references' });
  });

  it('a [#1234] ticket tag in the subject joins that ticket; an unknown tag starts a new conversation', async () => {
    const folder = await newFolder();
    const m = mailContext();
    m.tickets.set('1234', '<root-1234@customer.test>');
    const channel = open(m, folder);
    await channel.start?.();
    await dv.append(mail({ from: 'x@customer.test', subject: 'Again about [#1234] my bet', body: 'any news on my bet?' }), { mailbox: folder });
    await dv.append(mail({ from: 'y@customer.test', subject: 'About [#999] something', body: 'unknown ticket tag', messageId: '<u1@customer.test>' }), { mailbox: folder });
    const tagged = await waitFor('the tagged mail', () => byText(m, 'any news'));
    const unknown = await waitFor('the other mail', () => byText(m, 'unknown ticket tag'));
    expect(tagged.conversation.externalId).toBe('<root-1234@customer.test>');
    expect(tagged.meta).toMatchObject({ followUp: true, threadedBy: 'ticket tag' });
    expect(unknown.conversation.externalId).toBe('<u1@customer.test>');
  });

  it('an out-of-office reply and a bounce make no ticket and stay unread; a bounce of our reply is told to the agents', async () => {
    const folder = await newFolder();
    const m = mailContext();
    const channel = open(m, folder);
    await channel.start?.();
    await dv.append(mail({ from: 'c@customer.test', subject: 'Deposit', body: 'deposit missing', messageId: '<d1@customer.test>' }), { mailbox: folder });
    const first = await waitFor('the first mail', () => byText(m, 'deposit missing'));
    await channel.send(conversationOf(first), { text: 'We are checking', files: [], replyId: '77:1' });
    const ours = await waitFor('our reply', () => sink.received.find((r) => r.parsed.text?.includes('We are checking')));

    await dv.append(mail({
      from: 'c@customer.test', subject: 'Automatic reply: Re: Deposit', body: 'I am out of office until Monday',
      headers: { 'Auto-Submitted': 'auto-replied', 'In-Reply-To': ours.parsed.messageId! },
    }), { mailbox: folder });
    await dv.append([
      'Return-Path: <>',
      'From: Mail Delivery System <MAILER-DAEMON@mx.customer.test>',
      'To: support@acme.test',
      'Subject: Undelivered Mail Returned to Sender',
      `Date: ${new Date().toUTCString()}`,
      'Message-ID: <bounce-1@mx.customer.test>',
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=delivery-status; boundary="BND"',
      '',
      '--BND',
      'Content-Type: text/plain',
      '',
      'This is the mail system. <c@customer.test>: mailbox full (552 5.2.2)',
      '--BND',
      'Content-Type: message/delivery-status',
      '',
      'Final-Recipient: rfc822; c@customer.test',
      'Status: 5.2.2',
      '--BND',
      'Content-Type: text/rfc822-headers',
      '',
      `Message-ID: ${ours.parsed.messageId}`,
      'Subject: Re: Deposit',
      '--BND--',
      '',
    ].join('\r\n'), { mailbox: folder });
    await dv.append(mail({ from: 'e@customer.test', subject: 'later', body: 'a real mail after them' }), { mailbox: folder });

    await waitFor('the real mail after them', () => byText(m, 'a real mail after them'));
    expect(m.stored().map((d) => d.text)).toEqual(['deposit missing', 'a real mail after them']);
    const note = await waitFor('the bounce note', () => m.notes[0]);
    expect(note.conversation).toBe('<d1@customer.test>');
    expect(note.text).toContain('mailbox full');
    const states = await dv.messages(folder);
    expect(states.map((s) => s.seen)).toEqual([true, false, false, true]);
    expect(m.logs.filter((l) => l.msg === 'email: automated mail skipped')).toHaveLength(2);
  });

  it('attachments and inline images are kept until delivered; an oversize one is named for the agents', async () => {
    const folder = await newFolder();
    const m = mailContext();
    const channel = open(m, folder, { maxAttachmentBytes: 2000 });
    await channel.start?.();
    const small = Buffer.from('%PDF-1.4 receipt bytes');
    const big = Buffer.alloc(5000, 7);
    const png = Buffer.from('\x89PNG inline image');
    await dv.append([
      'From: f@customer.test', 'To: support@acme.test', 'Subject: receipt', `Date: ${new Date().toUTCString()}`,
      'Message-ID: <att1@customer.test>', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="MIX"', '',
      '--MIX', 'Content-Type: multipart/related; boundary="REL"', '',
      '--REL', 'Content-Type: text/html; charset=utf-8', '', '<p>Receipt <b>attached</b></p><img src="cid:logo@x">',
      '--REL', 'Content-Type: image/png', 'Content-ID: <logo@x>', 'Content-Disposition: inline', 'Content-Transfer-Encoding: base64', '', png.toString('base64'),
      '--REL--',
      '--MIX', 'Content-Type: application/pdf; name="receipt.pdf"', 'Content-Disposition: attachment; filename="receipt.pdf"', 'Content-Transfer-Encoding: base64', '', small.toString('base64'),
      '--MIX', 'Content-Type: application/zip; name="statement.zip"', 'Content-Disposition: attachment; filename="statement.zip"', 'Content-Transfer-Encoding: base64', '', big.toString('base64'),
      '--MIX--', '',
    ].join('\r\n'), { mailbox: folder });

    const d = await waitFor('the mail', () => byText(m, 'Receipt'));
    expect(d.text).toBe('Receipt attached');
    const refs = d.attachments ?? [];
    expect(refs.map((r) => [r.name, r.mime, r.unavailable === undefined])).toEqual([
      ['inline-1.png', 'image/png', true],
      ['receipt.pdf', 'application/pdf', true],
      ['statement.zip', 'application/zip', false],
    ]);
    expect(refs[2]!.unavailable).toContain('larger than');
    const pdf = await channel.fetchAttachment(refs[1]!);
    expect(pdf.data.equals(small)).toBe(true);
    expect((await channel.fetchAttachment(refs[0]!)).data.equals(png)).toBe(true);
    await channel.releaseAttachment?.(refs[1]!);
    await expect(channel.fetchAttachment(refs[1]!)).rejects.toMatchObject({ kind: 'permanent' });
  });

  it('an email over maxMessageBytes is read in part and the agents are told where the whole one is', async () => {
    const folder = await newFolder();
    const m = mailContext();
    const channel = open(m, folder, { maxMessageBytes: 1024 });
    await channel.start?.();
    await dv.append(mail({ from: 'g@customer.test', subject: 'huge', body: `start of a very long mail\n${'x'.repeat(400_000)}` }), { mailbox: folder });
    const d = await waitFor('the mail', () => byText(m, 'start of a very long mail'));
    expect(d.attachments).toEqual([expect.objectContaining({ name: 'the full email', unavailable: expect.stringContaining(`${folder}, UID 1`) })]);
  });

  it('moveTo: a stored message is moved to the folder instead of marked read', async () => {
    const folder = await newFolder();
    const done = `${folder}-done`;
    const m = mailContext();
    const channel = open(m, folder, { moveTo: done });
    await channel.start?.();
    await dv.append(mail({ from: 'h@customer.test', subject: 'move me', body: 'to be moved' }), { mailbox: folder });
    await waitFor('the mail', () => byText(m, 'to be moved'));
    await waitFor('moved away', async () => (await dv.messages(folder)).length === 0);
    expect(await dv.messages(done)).toHaveLength(1);
  });

  it('a wrong password: not ready, says the login failed, keeps retrying, never logs the password', async () => {
    const folder = await newFolder();
    const m = mailContext();
    const channel = open(m, folder, { imap: { ...dv.imap, password: 'wrong-password-123', mailbox: folder } });
    await channel.start?.();
    await waitFor('two failed attempts', () => m.logs.filter((l) => l.level === 'error').length >= 2);
    expect(channel.status?.()).toMatchObject({ ready: false, detail: expect.stringContaining('IMAP login failed for support@127.0.0.1') });
    expect(JSON.stringify(m.logs)).not.toContain('wrong-password-123');
  });

  it('a support address that is a Google Group: its mail is skipped with a warning naming the list, and taken once the list is trusted', async () => {
    const folder = await newFolder();
    const group = {
      'List-Id': 'Support <support.acme.test>',
      'List-Post': '<mailto:support@acme.test>',
      Precedence: 'list',
      'Reply-To': 'Azamat <azamat@customer.test>',
    };
    await dv.append(mail({ from: "'Azamat' via Support <support@acme.test>", subject: 'withdrawal', body: 'Where is my money?', headers: group }), { mailbox: folder });
    const skipped = mailContext();
    const strict = open(skipped, folder);
    await strict.start?.();
    const warning = await waitFor('the warning', () => skipped.logs.find((l) => l.level === 'warn' && l.msg?.includes('trustedLists')));
    expect(warning.msg).toContain('through the list support.acme.test');
    expect(skipped.stored()).toEqual([]);
    await strict.stop?.();

    const folder2 = await newFolder();
    await dv.append(mail({ from: "'Azamat' via Support <support@acme.test>", subject: 'withdrawal', body: 'Where is my money?', headers: group }), { mailbox: folder2 });
    const m = mailContext();
    await open(m, folder2, { trustedLists: ['support@acme.test'] }).start?.();
    const d = await waitFor('the mail', () => byText(m, 'Where is my money'));
    expect(d.sender).toMatchObject({ email: 'azamat@customer.test' });
  });
});
