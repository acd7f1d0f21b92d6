import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createEmailChannel } from '../../connectors/channels/email/channel.ts';
import type { InboxTuning } from '../../connectors/channels/email/inbox.ts';
import { EmailOptions } from '../../connectors/channels/email/options.ts';
import type { ChannelInstance, Conversation } from '../../src/core/connector.ts';
import { DeliveryError } from '../../src/core/errors.ts';
import { Dovecot, dovecotSkip, mail } from '../fakes/dovecot.ts';
import { startFakeOAuth2, type FakeOAuth2 } from '../fakes/oauth2-server.ts';
import { startSmtpSink, type SmtpSink } from '../fakes/smtp-sink.ts';
import { channelContext } from '../fixtures/channel-context.ts';
import { waitFor } from '../e2e/harness.ts';

/**
 * A Microsoft 365-style shared mailbox: IMAP and SMTP log in with OAuth 2.0 tokens (XOAUTH2) from
 * the client-credentials grant, over STARTTLS. Real Dovecot checks each token at a local token
 * server's introspection endpoint (its oauth2 passdb), the real SMTP server (smtp-server) asks the
 * same, so a token the gateway did not really get is refused. And the rule that no password (or
 * token) goes over a connection without TLS unless the config says so.
 */

const FAST: InboxTuning = { backoff: { initialMs: 50, maxMs: 300 }, autoIdleDelayMs: 100, resyncMs: 60_000, batchSize: 5 };

let oauth: FakeOAuth2;
let dv: Dovecot;
let sink: SmtpSink;
let plainDv: Dovecot;
let plainSink: SmtpSink;
const running: ChannelInstance[] = [];
let folderSeq = 0;

beforeAll(async () => {
  if (dovecotSkip()) return;
  oauth = await startFakeOAuth2({ username: 'support' });
  dv = await Dovecot.start({ tls: true, oauth2: { introspectionUrl: oauth.introspectionUrl } });
  sink = await startSmtpSink({ user: 'support', tls: true, oauth2: { isActive: (t) => oauth.isActive(t) } });
  plainDv = await Dovecot.start();
  plainSink = await startSmtpSink({ user: 'support', password: 'smtp-password-1' });
});
afterAll(async () => {
  await Promise.all([dv?.close(), plainDv?.close(), sink?.close(), plainSink?.close(), oauth?.close()]);
});
afterEach(async (ctx) => {
  for (const c of running.splice(0)) await c.stop?.();
  if (ctx.task.result?.state === 'fail') console.error((await dv?.log())?.slice(-3000));
});


function oauthMailbox(folder: string) {
  const rec = channelContext({ channelId: 'support' });
  const options = EmailOptions.parse({
    address: 'support@acme.test',
    imap: { host: '127.0.0.1', port: dv.port, secure: false, rejectUnauthorized: false, user: 'support', mailbox: folder },
    smtp: { host: sink.host, port: sink.port, rejectUnauthorized: false },
    oauth2: { tokenUrl: oauth.tokenUrl, clientId: oauth.clientId, clientSecret: oauth.clientSecret, scope: 'https://outlook.office365.com/.default' },
  });
  const channel = createEmailChannel(options, rec.ctx, FAST);
  running.push(channel);
  return { rec, channel };
}

const customer: Conversation = {
  channelId: 'support',
  externalId: '<m1@customer.test>',
  subject: 'Withdrawal',
  sender: { externalId: 'azamat@customer.test', email: 'azamat@customer.test' },
};

describe.skipIf(dovecotSkip())('email over OAuth 2.0 (XOAUTH2) and TLS', () => {
  it('reads with IMAP and answers with SMTP using client-credentials tokens, over STARTTLS, with no password anywhere', async () => {
    const folder = `O${++folderSeq}`;
    await dv.createMailbox(folder);
    await dv.append(mail({ from: 'Azamat <azamat@customer.test>', subject: 'Withdrawal', body: 'Where is my withdrawal?', messageId: '<m1@customer.test>' }), { mailbox: folder });
    const { rec, channel } = oauthMailbox(folder);
    await channel.start?.();

    await waitFor('the mail', () => rec.stored().find((d) => d.text.includes('Where is my withdrawal')));
    expect(oauth.grants[0]).toEqual({ grantType: 'client_credentials', clientId: oauth.clientId, scope: 'https://outlook.office365.com/.default' });
    // Dovecot asked the token server about the very token the gateway was given.
    expect(oauth.introspected).toContainEqual({ token: oauth.issued[0], active: true });
    expect(await dv.log()).toMatch(/imap-login: Info: Login: user=<support>, method=XOAUTH2, .*, TLS,/);

    const sent = await channel.send(customer, { text: 'It was sent today.', files: [], replyId: 'r-1' });
    expect(sent.externalIds).toHaveLength(1);
    expect(sink.received.at(-1)?.to).toEqual(['azamat@customer.test']);
    expect(sink.logins.at(-1)).toEqual({ user: 'support', ok: true, method: 'XOAUTH2', tls: true });
    // One token served both servers.
    expect(oauth.grants).toHaveLength(1);

    expect(await channel.check?.()).toMatch(/IMAP support@127\.0\.0\.1 with an OAuth2 token: .*SMTP .* accepts the login of support with an OAuth2 token/);
  });

  it('a token the servers stop accepting is replaced with a new one, for IMAP and for SMTP', async () => {
    const folder = `O${++folderSeq}`;
    await dv.createMailbox(folder);
    const { rec, channel } = oauthMailbox(folder);
    await channel.start?.();
    await waitFor('connected', () => channel.status?.().ready);
    const first = oauth.issued.at(-1)!;

    // Revoked, then the connection drops: the next login with the old token is refused.
    oauth.revoke(first);
    await dv.stopServer();
    await dv.startServer();
    await dv.append(mail({ from: 'Dilnoza <d@customer.test>', subject: 'KYC', body: 'My documents were sent', messageId: '<k1@customer.test>' }), { mailbox: folder });
    await waitFor('the mail after reconnecting with a new token', () => rec.stored().find((d) => d.text.includes('documents were sent')));
    expect(oauth.introspected).toContainEqual({ token: first, active: false });
    const second = oauth.issued.at(-1)!;
    expect(second).not.toBe(first);

    // SMTP: the server refuses the revoked token; nodemailer asks for a new one and sends.
    oauth.revoke(second);
    const loginsBefore = sink.logins.length;
    await channel.send(customer, { text: 'We got them.', files: [], replyId: 'r-2' });
    const logins = sink.logins.slice(loginsBefore);
    expect(logins.map((l) => l.ok)).toEqual([false, true]);
    expect(oauth.issued.at(-1)).not.toBe(second);
  });

  it('a refused client secret is reported with the token endpoint\'s own words, and the secret never shows', async () => {
    const rec = channelContext({ channelId: 'support' });
    const channel = createEmailChannel(EmailOptions.parse({
      address: 'support@acme.test',
      imap: { host: '127.0.0.1', port: dv.port, secure: false, rejectUnauthorized: false, user: 'support' },
      smtp: { host: sink.host, port: sink.port, rejectUnauthorized: false },
      oauth2: { tokenUrl: oauth.tokenUrl, clientId: oauth.clientId, clientSecret: 'wrong-secret-value' },
    }), rec.ctx, FAST);
    running.push(channel);
    await expect(channel.check!()).rejects.toThrow(/answered 401: invalid_client: AADSTS7000215: Invalid client secret provided\.$/);
    await channel.start?.();
    const detail = await waitFor('the failure in /readyz', () => channel.status?.().detail?.includes('invalid_client') && channel.status().detail);
    expect(detail).not.toContain('wrong-secret-value');
  });
});

describe.skipIf(dovecotSkip())('logins only over TLS unless allowInsecureAuth', () => {
  it('IMAP: a server without STARTTLS never sees the password', async () => {
    const rec = channelContext({ channelId: 'support' });
    const { allowInsecureAuth: _allowed, ...imap } = plainDv.imap;
    const channel = createEmailChannel(EmailOptions.parse({ address: 'support@acme.test', imap, smtp: { host: '127.0.0.1' } }), rec.ctx, FAST);
    running.push(channel);
    await channel.start?.();
    const detail = await waitFor('the refusal', () => channel.status?.().detail?.includes('STARTTLS') && channel.status().detail);
    expect(detail).toContain('offers no STARTTLS, so the login was not sent');
    expect(detail).toContain('allowInsecureAuth');
    await expect(channel.check!()).rejects.toThrow(/offers no STARTTLS/);
    expect(await plainDv.log()).not.toMatch(/Login: user=<support>|auth failed|Aborted login/);
  });

  it('IMAP: with allowInsecureAuth: true the same server is read', async () => {
    const rec = channelContext({ channelId: 'support' });
    const channel = createEmailChannel(EmailOptions.parse({ address: 'support@acme.test', imap: plainDv.imap, smtp: { host: '127.0.0.1' } }), rec.ctx, FAST);
    running.push(channel);
    await channel.start?.();
    await waitFor('connected', () => channel.status?.().ready);
  });

  it('SMTP: a server without STARTTLS never sees the password; allowInsecureAuth: true lets the login through', async () => {
    const rec = channelContext({ channelId: 'support' });
    const options = (smtp: Record<string, unknown>) => EmailOptions.parse({
      address: 'support@acme.test',
      imap: plainDv.imap,
      smtp: { host: plainSink.host, port: plainSink.port, user: 'support', password: 'smtp-password-1', ...smtp },
    });
    const strict = createEmailChannel(options({}), rec.ctx, FAST);
    const err = await strict.send(customer, { text: 'hello', files: [], replyId: 'tls-1' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryError);
    expect((err as DeliveryError).message).toContain('offers no working STARTTLS, so the login was not sent');
    expect(plainSink.logins).toEqual([]);
    expect(plainSink.received).toEqual([]);

    const lenient = createEmailChannel(options({ allowInsecureAuth: true }), rec.ctx, FAST);
    await lenient.send(customer, { text: 'hello', files: [], replyId: 'tls-2' });
    expect(plainSink.logins).toEqual([{ user: 'support', ok: true, method: 'PLAIN', tls: false }]);
  });
});
