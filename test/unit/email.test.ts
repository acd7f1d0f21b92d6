import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { registry } from '../../connectors/registry.ts';
import { TokenSource } from '../../connectors/channels/email/oauth2.ts';
import { loadConfig } from '../../src/config/load.ts';
import { claimSlot } from '../../src/runtime/window-slots.ts';
import { automatedReason } from '../../connectors/channels/email/automated.ts';
import { takeAutoReplySlot } from '../../connectors/channels/email/autoreply-cap.ts';
import { replyText } from '../../connectors/channels/email/body.ts';
import { ingest, type IngestDeps, type RawMail } from '../../connectors/channels/email/ingest.ts';
import { ownMessageId } from '../../connectors/channels/email/message-id.ts';
import { EmailOptions } from '../../connectors/channels/email/options.ts';
import { parseEmail, withoutSignature } from '../../connectors/channels/email/parse.ts';
import { threadingHeaders } from '../../connectors/channels/email/send.ts';
import { replySubject } from '../../connectors/channels/email/subjects.ts';
import { ThreadIndex } from '../../connectors/channels/email/threading.ts';
import { mail } from '../fakes/dovecot.ts';
import { channelContext } from '../fixtures/channel-context.ts';

const OWN = { address: 'support@acme.test', messageIdDomain: 'acme.test' };

async function reason(headers: Record<string, string>, from = 'Customer <c@customer.test>', messageId?: string, own: typeof OWN & { trustedLists?: string[] } = OWN) {
  const email = await parseEmail(Buffer.from(mail({ from, subject: 's', body: 'b', headers, messageId })));
  return automatedReason(email, own);
}

describe('email loop protection', () => {
  it('lets ordinary mail through, and Auto-Submitted: no', async () => {
    expect(await reason({})).toBeUndefined();
    expect(await reason({ 'Auto-Submitted': 'no' })).toBeUndefined();
    expect(await reason({ Precedence: 'first-class' })).toBeUndefined();
  });

  it.each([
    [{ 'Auto-Submitted': 'auto-replied' }, 'Auto-Submitted: auto-replied'],
    [{ 'Auto-Submitted': 'auto-generated' }, 'Auto-Submitted: auto-generated'],
    [{ 'X-Auto-Response-Suppress': 'All' }, 'X-Auto-Response-Suppress: All'],
    [{ Precedence: 'bulk' }, 'Precedence: bulk'],
    [{ Precedence: 'junk' }, 'Precedence: junk'],
    [{ Precedence: 'list' }, 'Precedence: list'],
    [{ Precedence: 'auto_reply' }, 'Precedence: auto_reply'],
    [{ 'List-Id': '<news.shop.test>' }, 'list-id'],
    [{ 'List-Unsubscribe': '<mailto:u@shop.test>' }, 'list-unsubscribe'],
    [{ 'X-Autoreply': 'yes' }, 'x-autoreply'],
  ])('machine-written mail makes no ticket: %o', async (headers, expected) => {
    expect(await reason(headers)).toEqual({ reason: expect.stringContaining(expected), bounce: false });
  });

  it('tells bounces apart: empty Return-Path, MAILER-DAEMON and postmaster senders, delivery reports', async () => {
    expect(await reason({ 'Return-Path': '<>' })).toMatchObject({ bounce: true });
    expect(await reason({}, 'Mail Delivery Subsystem <MAILER-DAEMON@mx.test>')).toMatchObject({ bounce: true });
    expect(await reason({}, 'postmaster@mx.test')).toMatchObject({ bounce: true });
    expect(await reason({ 'Content-Type': 'multipart/report; report-type=delivery-status; boundary="x"' })).toMatchObject({ bounce: true });
    expect(await reason({ 'Content-Type': 'multipart/report; report-type=disposition-notification; boundary="x"' })).toMatchObject({ bounce: false });
  });

  it('mail that is ours (our Message-ID form, or sent from the mailbox itself) makes no ticket', async () => {
    expect(await reason({}, 'c@customer.test', ownMessageId('support', '1:2', 'acme.test'))).toMatchObject({ reason: expect.stringContaining('gateway sent') });
    expect(await reason({}, 'Support <SUPPORT@acme.test>')).toMatchObject({ reason: expect.stringContaining('this mailbox') });
    // Colleagues on the same domain are customers like any other.
    expect(await reason({}, 'colleague@acme.test', '<abc123@acme.test>')).toBeUndefined();
  });

  // What a Google Group puts on each mail it passes on, with From rewritten for DMARC.
  const GOOGLE_GROUP = {
    'List-Id': 'Support <support.acme.test>',
    'List-Post': '<mailto:support@acme.test>',
    'List-Unsubscribe': '<mailto:support+unsubscribe@acme.test>',
    'Mailing-list': 'list support@acme.test; contact support+owners@acme.test',
    Precedence: 'list',
    'Reply-To': 'Azamat <azamat@customer.test>',
  };

  it('mail through a list that is this support address is skipped, and says so, until the admin trusts the list', async () => {
    expect(await reason(GOOGLE_GROUP, "'Azamat' via Support <support@acme.test>")).toMatchObject({ bounce: false, reason: expect.stringContaining('a list rewriting From'), ownList: 'support.acme.test' });
    expect(await reason(GOOGLE_GROUP)).toEqual({ bounce: false, reason: 'Precedence: list', ownList: 'support.acme.test' });
    // Trusted by its List-Id or by its address: a customer's mail, From rewritten or not.
    for (const trustedLists of [['support.acme.test'], ['support@acme.test'], ['<Support.Acme.Test>']]) {
      expect(await reason(GOOGLE_GROUP, "'Azamat' via Support <support@acme.test>", undefined, { ...OWN, trustedLists })).toBeUndefined();
      expect(await reason(GOOGLE_GROUP, 'Azamat <azamat@customer.test>', undefined, { ...OWN, trustedLists })).toBeUndefined();
    }
    // Trusting the list does not trust an autoresponder writing through it, nor another list.
    const trustedLists = ['support.acme.test'];
    expect(await reason({ ...GOOGLE_GROUP, 'Auto-Submitted': 'auto-replied' }, undefined, undefined, { ...OWN, trustedLists })).toMatchObject({ reason: 'Auto-Submitted: auto-replied' });
    expect(await reason({ 'List-Id': '<news.shop.test>' }, undefined, undefined, { ...OWN, trustedLists })).toMatchObject({ reason: expect.stringContaining('list-id') });
    expect(await reason({ 'List-Id': '<news.shop.test>' })).not.toHaveProperty('ownList');
  });
});

describe('email bodies', () => {
  it.each([
    ['English Gmail', 'Thanks, it worked!\n\nOn Mon, Jan 8, 2024 at 10:00 AM Support <support@acme.test> wrote:\n> Please try again.\n> Regards', 'Thanks, it worked!'],
    ['Russian Gmail', 'Спасибо, получил.\n\nпн, 8 янв. 2024 г. в 10:00, Support <support@acme.test>:\n> Попробуйте ещё раз.', 'Спасибо, получил.'],
    ['Russian Gmail, wrapped', 'Спасибо.\n\nпн, 8 янв. 2024 г. в 10:00, Acme Support <\nsupport@acme.test>:\n\n> Попробуйте ещё раз.', 'Спасибо.'],
    ['Outlook header block', 'Still not received.\n\nFrom: Support <support@acme.test>\nSent: Monday, January 8, 2024 10:00 AM\nSubject: Re: withdrawal\n\nPlease try again.', 'Still not received.'],
    ['signature', 'Still not received.\n\n-- \nAzamat Karimov\n+998 90 123 45 67', 'Still not received.'],
    ['a colon of their own', 'My steps were:\n1. open the cashier\n2. click withdraw', 'My steps were:\n1. open the cashier\n2. click withdraw'],
    ['only a quote', '> the earlier mail', '> the earlier mail'],
  ])('a follow-up keeps what the customer wrote (%s)', (_name, text, expected) => {
    expect(replyText(text)).toBe(expected);
  });

  it('subjects of replies', () => {
    expect(replySubject('Withdrawal')).toBe('Re: Withdrawal');
    expect(replySubject('RE: Withdrawal')).toBe('RE: Withdrawal');
    expect(replySubject('Отв: вывод')).toBe('Отв: вывод');
    expect(replySubject(undefined)).toBe('Re: your message');
  });

  it('threading headers: In-Reply-To the last mail, References from the first one, trimmed in the middle', () => {
    const refs = Array.from({ length: 30 }, (_, i) => `<m${i}@customer.test>`);
    const h = threadingHeaders({ externalId: '<m0@customer.test>', threadRefs: refs, meta: { lastMessageId: '<m29@customer.test>' } });
    expect(h.inReplyTo).toBe('<m29@customer.test>');
    expect(h.references).toHaveLength(20);
    expect(h.references?.[0]).toBe('<m0@customer.test>');
    expect(h.references?.at(-1)).toBe('<m29@customer.test>');
    // A conversation started by a mail without a Message-ID has nothing to thread under.
    expect(threadingHeaders({ externalId: 'sha:0123', meta: { lastMessageId: 'sha:0123' } })).toEqual({});
  });
});

function ingestDeps(overrides: Partial<IngestDeps> = {}) {
  const rec = channelContext({ channelId: 'support' });
  const deps: IngestDeps = { ctx: rec.ctx, index: new ThreadIndex(rec.ctx.kv), own: OWN, mailbox: 'INBOX', maxAttachmentBytes: 1000, maxMessageBytes: 10_000, ...overrides };
  return { rec, blobs: rec.blobs, deps };
}

const raw = (source: string, uid = 1): RawMail => ({ uid, uidValidity: '7', source: Buffer.from(source), size: source.length, truncated: false });

describe('email ingest', () => {
  it('the customer is the Reply-To address when there is one (contact forms send as themselves)', async () => {
    const { rec, deps } = ingestDeps();
    await ingest(raw(mail({ from: 'Shop <noreply@shop.test>', subject: 'Contact form', body: 'hello', headers: { 'Reply-To': 'Dilnoza <dilnoza@customer.test>' } })), deps);
    expect(rec.stored()[0]!.sender).toEqual({ externalId: 'dilnoza@customer.test', email: 'dilnoza@customer.test', displayName: 'Dilnoza' });
  });

  it('an HTML-only mail becomes readable text', async () => {
    const { rec, deps } = ingestDeps();
    await ingest(raw(mail({ from: 'c@customer.test', subject: 'html', body: '<div><p>Hello,</p><p>my <b>deposit</b> is missing</p></div>', headers: { 'Content-Type': 'text/html; charset=utf-8' } })), deps);
    expect(rec.stored()[0]!.text).toBe('Hello,\n\nmy deposit is missing');
  });

  it('an HTML-only mail keeps its sentences whole (no wrap at 80 columns) and its links', async () => {
    const { rec, deps } = ingestDeps();
    const sentence = 'I made a withdrawal of 2 500 000 UZS to my Humo card on Monday and it still has not arrived, the status in the cashier says pending';
    const body = `<p>${sentence}.</p><p>Screenshot: <a href="https://img.example/s.png">here</a></p>`;
    await ingest(raw(mail({ from: 'c@customer.test', subject: 'html', body, headers: { 'Content-Type': 'text/html; charset=utf-8' } })), deps);
    expect(rec.stored()[0]!.text).toBe(`${sentence}.\n\nScreenshot: here (https://img.example/s.png)`);
  });

  it("a new mail's signature (after the `-- ` line) stays out of the ticket", async () => {
    const { rec, deps } = ingestDeps();
    const body = 'My deposit is missing.\n\n-- \nDilnoza Karimova\nHead of Finance, Example LLC\n+998 90 123 45 67';
    await ingest(raw(mail({ from: 'd@customer.test', subject: 'deposit', body })), deps);
    expect(rec.stored()[0]!.text).toBe('My deposit is missing.');
  });

  it('keeps a dash line that is not a signature separator, and a mail that is only a signature', () => {
    expect(withoutSignature('Total --\n-- not a separator without the space\nend')).toBe('Total --\n-- not a separator without the space\nend');
    expect(withoutSignature('> -- \n> quoted sig\nmy answer')).toBe('> -- \n> quoted sig\nmy answer');
    expect(withoutSignature('-- \nonly a signature')).toBe('-- \nonly a signature');
  });

  it('a mail without a Message-ID is keyed by its bytes, so the same mail found again is one message', async () => {
    const { rec, deps } = ingestDeps();
    const source = mail({ from: 'c@customer.test', subject: 'no id', body: 'no message id here', messageId: null, date: new Date('2024-01-08T10:00:00Z') });
    await ingest(raw(source, 1), deps);
    await ingest(raw(source, 9), deps);
    expect(rec.acceptCalls[0]).toEqual(rec.acceptCalls[1]);
    expect(rec.stored()).toHaveLength(1);
    expect(rec.stored()[0]!.dedupeKey).toMatch(/^sha:[0-9a-f]{32}$/);
  });

  it('a mail taken before (same Message-ID and Date) is known; a sender reusing a Message-ID for a new mail is not', async () => {
    const { rec, deps } = ingestDeps();
    const first = mail({ from: 'c@customer.test', subject: 'a', body: 'first', messageId: '<same@broken.test>', date: new Date('2024-01-08T10:00:00Z') });
    const reused = mail({ from: 'c@customer.test', subject: 'b', body: 'second', messageId: '<same@broken.test>', date: new Date('2024-01-09T10:00:00Z') });
    expect(await ingest(raw(first, 1), deps)).toMatchObject({ kind: 'accepted' });
    expect(await ingest(raw(first, 2), deps)).toEqual({ kind: 'known' });
    expect(await ingest(raw(reused, 3), deps)).toMatchObject({ kind: 'accepted' });
    expect(rec.stored().map((d) => d.text)).toEqual(['first', 'second']);
  });

  it('a reply from the address our mail went to, carrying our Message-ID, proves the address; nothing else does', async () => {
    const { rec, deps } = ingestDeps();
    const ours = ownMessageId('support', '55:9001', 'acme.test');
    await deps.index.recordSent(ours, 'ticket-55-to-x', 'Dilnoza@Customer.test');
    const answer = (from: string, headers: Record<string, string>) => ingest(raw(mail({ from, subject: 'Re: your ticket', body: 'yes, it is me', headers })), deps);
    await answer('Dilnoza <dilnoza@customer.test>', { 'In-Reply-To': ours });
    await answer('dilnoza@customer.test', { References: `<older@customer.test> ${ours}` });
    // Someone else answering our mail, a Reply-To elsewhere, a subject tag or a mail of theirs: not proven.
    await answer('brother@customer.test', { 'In-Reply-To': ours });
    await answer('dilnoza@customer.test', { 'In-Reply-To': ours, 'Reply-To': 'other@customer.test' });
    await answer('dilnoza@customer.test', { 'In-Reply-To': '<first@customer.test>' });
    await ingest(raw(mail({ from: 'dilnoza@customer.test', subject: 'Re: [#55] documents', body: 'typed the tag' })), deps);
    expect(rec.stored().map((d) => d.sender.addressVerified ?? false)).toEqual([true, true, false, false, false, false]);
    // Both proven answers thread into the conversation our mail belonged to.
    expect(rec.stored().slice(0, 2).map((d) => d.conversation.externalId)).toEqual(['ticket-55-to-x', 'ticket-55-to-x']);
  });

  it('files of a duplicate are not kept twice', async () => {
    const { blobs, deps } = ingestDeps();
    const source = [
      'From: c@customer.test', 'Subject: f', 'Message-ID: <f1@customer.test>', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="B"', '',
      '--B', 'Content-Type: text/plain', '', 'file attached', '--B', 'Content-Type: text/plain; name="a.txt"', 'Content-Disposition: attachment; filename="a.txt"', '', 'AAAA', '--B--', '',
    ].join('\r\n');
    await ingest(raw(source, 1), deps);
    expect(blobs.size).toBe(1);
    // The store says duplicate (the crash came after accept, before the Message-ID was recorded).
    await deps.ctx.kv.delete('mid:<f1@customer.test>');
    expect(await ingest(raw(source, 2), deps)).toMatchObject({ kind: 'accepted', duplicate: true });
    expect(blobs.size).toBe(1);
  });
});

describe('email options and auto-reply cap', () => {
  const base = { address: 'support@acme.test', imap: { host: 'imap.acme.test', user: 'u', password: 'p' }, smtp: { host: 'smtp.acme.test' } };

  it('validates with errors that name the field', () => {
    const noPassword = EmailOptions.safeParse({ ...base, smtp: { host: 'smtp.acme.test', user: 'u' } });
    expect(noPassword.success).toBe(false);
    expect(noPassword.error?.issues[0]).toMatchObject({ path: ['smtp', 'password'], message: 'set both user and password, or neither' });
    const badHost = EmailOptions.safeParse({ ...base, imap: { ...base.imap, host: 'imaps://imap.acme.test:993' } });
    expect(badHost.error?.issues[0]?.path).toEqual(['imap', 'host']);
    expect(EmailOptions.safeParse({ ...base, address: 'support' }).error?.issues[0]?.path).toEqual(['address']);
    expect(EmailOptions.parse(base)).toMatchObject({ imap: { port: 993, secure: true, mailbox: 'INBOX' }, smtp: { port: 587 }, firstSync: 'unseen', autoReplyLimitPerHour: 3 });
  });

  it('logs in with a password or with oauth2, not both and not neither', () => {
    const oauth2 = { tokenUrl: 'https://login.microsoftonline.com/t/oauth2/v2.0/token', clientId: 'c', clientSecret: 's' };
    const { password: _p, ...imapNoPassword } = base.imap;
    expect(EmailOptions.safeParse({ ...base, imap: imapNoPassword }).error?.issues[0]).toMatchObject({ path: ['imap', 'password'], message: 'is required (or log in with oauth2)' });
    expect(EmailOptions.safeParse({ ...base, oauth2 }).error?.issues[0]).toMatchObject({ path: ['imap', 'password'], message: 'set a password or oauth2, not both' });
    expect(EmailOptions.safeParse({ ...base, imap: imapNoPassword, oauth2 }).success).toBe(true);
    // The client secret goes to the token endpoint: never over plain http to another machine.
    const plain = EmailOptions.safeParse({ ...base, imap: imapNoPassword, oauth2: { ...oauth2, tokenUrl: 'http://login.example.com/token' } });
    expect(plain.error?.issues[0]).toMatchObject({ path: ['oauth2', 'tokenUrl'] });
    expect(EmailOptions.safeParse({ ...base, imap: imapNoPassword, oauth2: { ...oauth2, tokenUrl: 'http://127.0.0.1:9/token' } }).success).toBe(true);
  });

  it('warns in `check` and the start log, with file and line, when a login may travel without TLS', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sb-email-'));
    try {
      const file = join(dir, 'switchboard.yaml');
      await writeFile(file, [
        'helpdesk: { kind: jsonl }',
        'channels:',
        '  mail:',
        '    kind: email',
        '    address: support@acme.test',
        '    imap: { host: imap.acme.test, port: 143, secure: false, user: u, password: p, allowInsecureAuth: true }',
        '    smtp: { host: smtp.acme.test, user: u, password: p }',
        '',
      ].join('\n'));
      const { warnings } = await loadConfig(file, registry, {});
      expect(warnings).toEqual([expect.objectContaining({ path: 'channels.mail.imap.allowInsecureAuth', line: 6, message: expect.stringContaining('IMAP login without TLS is allowed') })]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reuses an OAuth2 token until shortly before it expires, shares one request, and renews a refused one', async () => {
    let now = 1_000_000;
    let served = 0;
    const { createServer } = await import('node:http');
    const server = createServer((_req, res) => {
      served += 1;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ access_token: `t${served}`, expires_in: 3600 }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as import('node:net').AddressInfo;
    try {
      const tokens = new TokenSource({ tokenUrl: `http://127.0.0.1:${port}/token`, clientId: 'c', clientSecret: 's', timeoutMs: 5000 }, () => now);
      const [a, b] = await Promise.all([tokens.get(), tokens.get()]);
      expect([a.accessToken, b.accessToken, served]).toEqual(['t1', 't1', 1]);
      now += 54 * 60_000;
      expect((await tokens.get()).accessToken).toBe('t1');
      now += 2 * 60_000; // within five minutes of the hour: renewed
      expect((await tokens.get()).accessToken).toBe('t2');
      tokens.refused('t2');
      expect((await tokens.get()).accessToken).toBe('t3');
    } finally {
      server.close();
    }
  });

  it('counts automatic replies per recipient over a sliding hour', () => {
    const hour = 60 * 60_000;
    const t0 = Date.parse('2024-01-08T10:00:00Z');
    const first = claimSlot(undefined, 'r1', 1, hour, t0);
    expect(first.claimed).toBe(true);
    expect(claimSlot(first.value, 'r2', 1, hour, t0 + 60_000).claimed).toBe(false);
    expect(claimSlot(first.value, 'r1', 1, hour, t0 + 60_000).claimed).toBe(true); // a retry of the same reply
    expect(claimSlot(first.value, 'r2', 1, hour, t0 + 61 * 60_000).claimed).toBe(true);
    expect(claimSlot(undefined, 'r1', 0, hour, t0).claimed).toBe(false);
  });

  it('holds the cap when several replies to one address are claimed at once, whatever the case of the address', async () => {
    const { rec } = ingestDeps();
    const claims = await Promise.all(Array.from({ length: 8 }, (_, i) => takeAutoReplySlot(rec.ctx.kv, i % 2 ? 'C@customer.test' : 'c@customer.test', `r${i}`, 3)));
    expect(claims.filter(Boolean)).toHaveLength(3);
  });
});
