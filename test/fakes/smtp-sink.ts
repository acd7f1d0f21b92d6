import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';

/**
 * A real SMTP server (the `smtp-server` package) on 127.0.0.1 that keeps what it receives.
 * Tests can make it refuse: the next N messages with a code (4xx: try later, 5xx: never),
 * or every message to a given recipient (a mailbox that does not exist).
 */

export interface ReceivedMail {
  from: string;
  to: string[];
  raw: Buffer;
  parsed: ParsedMail;
  /** Raw header value by lower-case name (first occurrence). */
  header(name: string): string | undefined;
}

export interface SmtpSink {
  host: string;
  port: number;
  received: ReceivedMail[];
  /** Logins tried, with whether they were accepted, how, and whether the connection was encrypted. */
  logins: { user: string; ok: boolean; method: string; tls: boolean }[];
  /** The next `count` messages are refused at RCPT with this reply; `after` lets that many through first. */
  refuseNext(count: number, code: number, message: string, opts?: { after?: number }): void;
  /** Every message to this address is refused at RCPT with this reply. */
  refuseRecipient(address: string, code: number, message: string): void;
  /** Forgets what the last test left: mail received, logins, refusals. */
  reset(): void;
  close(): Promise<void>;
}

export interface SmtpSinkOptions {
  user?: string;
  password?: string;
  /** STARTTLS (smtp-server's own self-signed certificate), required before a login. */
  tls?: boolean;
  /** Accept XOAUTH2 logins of `user` whose token this says is good. */
  oauth2?: { isActive(token: string): boolean };
}

export async function startSmtpSink(opts: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const received: ReceivedMail[] = [];
  const logins: SmtpSink['logins'] = [];
  let refusals: { skip: number; count: number; code: number; message: string } | undefined;
  const refusedRecipients = new Map<string, { code: number; message: string }>();
  const smtpError = (code: number, message: string) => Object.assign(new Error(message), { responseCode: code });

  const server = new SMTPServer({
    secure: false,
    disabledCommands: opts.tls ? [] : ['STARTTLS'],
    allowInsecureAuth: !opts.tls,
    authMethods: ['PLAIN', 'LOGIN', ...(opts.oauth2 ? ['XOAUTH2'] : [])],
    authOptional: opts.user === undefined,
    logger: false,
    onAuth(auth, session, callback) {
      const ok = auth.username === opts.user && (auth.method === 'XOAUTH2'
        ? opts.oauth2?.isActive(auth.accessToken ?? '') === true
        : auth.password === opts.password);
      logins.push({ user: auth.username ?? '', ok, method: auth.method, tls: session.secure === true });
      // XOAUTH2 refusals carry the JSON challenge RFC 7628 describes; nodemailer then renews the token.
      if (!ok && auth.method === 'XOAUTH2') return callback(null, { data: { status: '401', schemes: 'bearer' } });
      if (!ok) return callback(smtpError(535, '5.7.8 Authentication credentials invalid'));
      callback(null, { user: auth.username });
    },
    onRcptTo(address: SMTPServerAddress, _session, callback) {
      const byAddress = refusedRecipients.get(address.address.toLowerCase());
      if (byAddress) return callback(smtpError(byAddress.code, byAddress.message));
      if (refusals && refusals.skip > 0) refusals.skip -= 1;
      else if (refusals && refusals.count > 0) {
        refusals.count -= 1;
        return callback(smtpError(refusals.code, refusals.message));
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        simpleParser(raw).then((parsed) => {
          received.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            raw,
            parsed,
            header: (name) => {
              const line = parsed.headerLines.find((h) => h.key === name.toLowerCase())?.line;
              return line === undefined ? undefined : line.slice(line.indexOf(':') + 1).replace(/\r?\n[ \t]+/g, ' ').trim();
            },
          });
          callback();
        }, (err: Error) => callback(err));
      });
    },
  });

  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : 0);
    });
  });

  return {
    host: '127.0.0.1',
    port,
    received,
    logins,
    refuseNext(count, code, message, o) {
      refusals = { skip: o?.after ?? 0, count, code, message };
    },
    refuseRecipient(address, code, message) {
      refusedRecipients.set(address.toLowerCase(), { code, message });
    },
    reset() {
      received.length = 0;
      logins.length = 0;
      refusals = undefined;
      refusedRecipients.clear();
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
