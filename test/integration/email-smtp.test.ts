import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createEmailChannel } from '../../connectors/channels/email/channel.ts';
import { EmailOptions } from '../../connectors/channels/email/options.ts';
import type { ChannelInstance, Conversation } from '../../src/core/connector.ts';
import { DeliveryError } from '../../src/core/errors.ts';
import { startSmtpSink, type SmtpSink } from '../fakes/smtp-sink.ts';
import { channelContext, type FakeChannelContext } from '../fixtures/channel-context.ts';

/** Replies out through a real SMTP server (smtp-server) that keeps what it receives. */

const SMTP_USER = 'support@acme.test';
const SMTP_PASSWORD = 'smtp-secret-password-42';

let sink: SmtpSink;
beforeAll(async () => {
  sink = await startSmtpSink({ user: SMTP_USER, password: SMTP_PASSWORD });
});
afterAll(async () => {
  await sink.close();
});
beforeEach(() => sink.reset());

function channel(extra: Record<string, unknown> = {}, smtp: Record<string, unknown> = {}): { ch: ChannelInstance; rec: FakeChannelContext } {
  const rec = channelContext({ channelId: 'support' });
  const options = EmailOptions.parse({
    address: 'support@acme.test',
    name: 'Acme Support',
    // Never started here: only the SMTP side is used.
    imap: { host: '127.0.0.1', port: 1, user: 'support', password: 'unused' },
    // The sink offers no STARTTLS: this test server may see the password.
    smtp: { host: sink.host, port: sink.port, user: SMTP_USER, password: SMTP_PASSWORD, allowInsecureAuth: true, ...smtp },
    ...extra,
  });
  return { ch: createEmailChannel(options, rec.ctx), rec };
}

const conversation: Conversation = {
  channelId: 'support',
  externalId: '<c1@customer.test>',
  subject: 'Withdrawal',
  threadRefs: ['<c1@customer.test>', '<switchboard.aa11@acme.test>', '<c2@customer.test>'],
  sender: { externalId: 'azamat@customer.test', email: 'azamat@customer.test', displayName: 'Azamat K' },
  meta: { lastMessageId: '<c2@customer.test>' },
};

describe('email replies over a real SMTP server', () => {
  it("an agent's reply goes out from the mailbox, threaded under the customer's last mail, with its files", async () => {
    const { ch } = channel();
    const pdf = Buffer.from('%PDF-1.4 statement');
    const result = await ch.send(conversation, {
      text: 'Your withdrawal was sent today.',
      html: '<p>Your withdrawal was <b>sent</b> today.</p>',
      files: [{ name: 'statement.pdf', mime: 'application/pdf', data: pdf }],
      replyId: '501:9001',
    });

    expect(sink.received).toHaveLength(1);
    const got = sink.received[0]!;
    expect(got.from).toBe('support@acme.test');
    expect(got.to).toEqual(['azamat@customer.test']);
    expect(got.header('from')).toBe('Acme Support <support@acme.test>');
    expect(got.header('to')).toBe('Azamat K <azamat@customer.test>');
    expect(got.parsed.subject).toBe('Re: Withdrawal');
    expect(got.header('in-reply-to')).toBe('<c2@customer.test>');
    expect(got.header('references')).toBe('<c1@customer.test> <switchboard.aa11@acme.test> <c2@customer.test>');
    expect(got.parsed.messageId).toMatch(/^<switchboard\.[0-9a-f]{32}@acme\.test>$/);
    expect(result.externalIds).toEqual([got.parsed.messageId]);
    expect(got.parsed.text?.trim()).toBe('Your withdrawal was sent today.');
    expect(got.parsed.html).toContain('<b>sent</b>');
    expect(got.parsed.attachments.map((a) => [a.filename, a.contentType, a.content.equals(pdf)])).toEqual([['statement.pdf', 'application/pdf', true]]);
    expect(got.header('auto-submitted')).toBeUndefined();
    expect(sink.logins).toEqual([{ user: SMTP_USER, ok: true, method: 'PLAIN', tls: false }]);
  });

  it('automatic replies say so (Auto-Submitted) and stop after the hourly limit per recipient, which the agents are told', async () => {
    const { ch } = channel({ autoReplyLimitPerHour: 2 });
    const results = [];
    for (const n of [1, 2, 3]) results.push(await ch.send(conversation, { text: `auto ${n}`, files: [], replyId: `auto:${n}`, automatic: true }));
    // A retry of one already sent takes no new slot.
    results.push(await ch.send(conversation, { text: 'auto 1', files: [], replyId: 'auto:1', automatic: true }));

    expect(sink.received.map((r) => r.parsed.text?.trim())).toEqual(['auto 1', 'auto 2']);
    expect(sink.received[0]!.header('auto-submitted')).toBe('auto-replied');
    expect(sink.received[0]!.header('x-auto-response-suppress')).toBe('All');
    expect(results[2]).toEqual({ externalIds: [], notes: [expect.stringContaining('already got 2 automatic replies in the last hour')] });
    expect(results[3]!.externalIds).toHaveLength(1);
    // Agents' own replies are not capped.
    await ch.send(conversation, { text: 'from a person', files: [], replyId: '501:9100' });
    expect(sink.received).toHaveLength(3);
  });

  it('the hourly cap holds when eight new conversations from one address are answered at the same moment', async () => {
    const { ch } = channel();
    const results = await Promise.all(Array.from({ length: 8 }, (_, n) => ch.send(
      { ...conversation, externalId: `<new${n}@customer.test>` },
      { text: `ack ${n}`, files: [], replyId: `auto:new:${n}`, automatic: true },
    )));
    expect(sink.received).toHaveLength(3); // autoReplyLimitPerHour defaults to 3
    expect(results.filter((r) => r.externalIds.length === 0 && r.notes?.[0]?.includes('already got 3 automatic replies'))).toHaveLength(5);
  });

  it("a permanent rejection is a permanent DeliveryError carrying the server's words; a 4xx is retried", async () => {
    const { ch } = channel();
    sink.refuseRecipient('gone@customer.test', 550, '5.1.1 <gone@customer.test>: Recipient address rejected: User unknown');
    const gone = { ...conversation, sender: { externalId: 'gone@customer.test', email: 'gone@customer.test' } };
    const permanent = await ch.send(gone, { text: 'x', files: [], replyId: '1:1' }).catch((e: unknown) => e);
    expect(permanent).toBeInstanceOf(DeliveryError);
    expect(permanent).toMatchObject({ kind: 'permanent', status: 550, detail: expect.stringContaining('Recipient address rejected: User unknown') });

    sink.refuseNext(1, 451, '4.7.1 Greylisted, try again later');
    const later = await ch.send(conversation, { text: 'y', files: [], replyId: '1:2' }).catch((e: unknown) => e);
    expect(later).toMatchObject({ kind: 'retry', status: 451, detail: expect.stringContaining('Greylisted') });
    // The retry goes through and the customer gets it once.
    await ch.send(conversation, { text: 'y', files: [], replyId: '1:2' });
    expect(sink.received.map((r) => r.parsed.text?.trim())).toEqual(['y']);
  });

  it('a wrong SMTP password: retried (the admin fixes it, a replay delivers), never echoing the password', async () => {
    const { ch } = channel({}, { password: 'wrong-smtp-password-77' });
    const err = await ch.send(conversation, { text: 'x', files: [], replyId: '2:1' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'retry', message: expect.stringContaining('refused our login') });
    expect(JSON.stringify({ m: (err as Error).message, d: (err as DeliveryError).detail })).not.toContain('wrong-smtp-password-77');
  });

  it('a file over the limit is left out and named for the agents; a conversation without an address cannot be answered', async () => {
    const { ch } = channel({ maxAttachmentBytes: 100 });
    const result = await ch.send(conversation, {
      text: 'see attached',
      files: [{ name: 'big.zip', mime: 'application/zip', data: Buffer.alloc(500) }, { name: 'ok.txt', mime: 'text/plain', data: Buffer.from('ok') }],
      replyId: '3:1',
    });
    expect(sink.received[0]!.parsed.attachments.map((a) => a.filename)).toEqual(['ok.txt']);
    expect(result.notes).toEqual([expect.stringContaining('"big.zip" (500 bytes) was not attached')]);

    const noAddress = { ...conversation, sender: { externalId: 'unknown-sender' } };
    await expect(ch.send(noAddress, { text: 'x', files: [], replyId: '3:2' })).rejects.toMatchObject({ kind: 'permanent' });
  });

  it('DKIM: replies are signed with the configured key', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
    const { ch } = channel({}, { dkim: { domainName: 'acme.test', keySelector: 'sb2024', privateKey } });
    await ch.send(conversation, { text: 'signed', files: [], replyId: '4:1' });
    const signature = sink.received[0]!.header('dkim-signature') ?? '';
    expect(signature).toMatch(/d=acme\.test/);
    expect(signature).toMatch(/s=sb2024/);
    expect(signature).toMatch(/h=[^;]*In-Reply-To/i);
  });
});
