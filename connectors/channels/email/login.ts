import type { ImapFlowOptions } from 'imapflow';
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import { TokenSource } from './oauth2.ts';
import type { EmailOptions, ImapOptions } from './options.ts';

/**
 * How one mailbox logs in to IMAP and SMTP: with passwords, or with OAuth 2.0 tokens (XOAUTH2).
 * Either way the login goes only over TLS (implicit, or STARTTLS the server must offer) unless
 * the config says `allowInsecureAuth: true`.
 */
export interface MailLogin {
  /** Set when the mailbox logs in with OAuth 2.0: IMAP and SMTP share its tokens. */
  tokens?: TokenSource;
  /** imapflow's `auth` for the next connection: a password, or a token that is good now. */
  imapAuth(): Promise<NonNullable<ImapFlowOptions['auth']>>;
  /** The IMAP server refused this login: an OAuth token is fetched again for the next one. */
  imapRefused(auth: NonNullable<ImapFlowOptions['auth']>): void;
  /** Cut out of any error text. */
  secrets: string[];
}

export function mailLogin(options: EmailOptions): MailLogin {
  const tokens = options.oauth2 ? new TokenSource(options.oauth2) : undefined;
  const secrets = [options.imap.password, options.smtp.password, options.smtp.dkim?.privateKey, options.oauth2?.clientSecret, options.oauth2?.refreshToken]
    .filter((s): s is string => s !== undefined && s.length > 0);
  return {
    tokens,
    async imapAuth() {
      if (!tokens) return { user: options.imap.user, pass: options.imap.password };
      return { user: options.imap.user, accessToken: (await tokens.get()).accessToken };
    },
    imapRefused(auth) {
      if (tokens && auth.accessToken) tokens.refused(auth.accessToken);
    },
    secrets,
  };
}

/** imapflow's TLS options: STARTTLS is required on a plain port unless insecure logins are allowed. */
export function imapTls(imap: ImapOptions): Pick<ImapFlowOptions, 'secure' | 'doSTARTTLS' | 'tls'> {
  return {
    secure: imap.secure,
    ...(imap.secure || imap.allowInsecureAuth ? {} : { doSTARTTLS: true }),
    tls: { rejectUnauthorized: imap.rejectUnauthorized },
  };
}

/** The SMTP transport: a login (password or XOAUTH2) only over TLS, unless allowInsecureAuth. */
export function smtpTransport(options: EmailOptions, login: MailLogin): Transporter<SMTPTransport.SentMessageInfo> {
  const smtp = options.smtp;
  const tokens = login.tokens;
  const user = smtp.user ?? (tokens ? options.imap.user : undefined);
  let auth: SMTPTransport.Options['auth'];
  if (tokens && user) {
    auth = {
      type: 'OAuth2',
      user,
      // nodemailer asks again with renew=true when the server refused the token.
      provisionCallback: (_user, renew, done) => {
        tokens.get(renew).then((t) => done(null, t.accessToken, t.expiresAt), (err: Error) => done(err));
      },
    };
  } else if (user && smtp.password) {
    auth = { user, pass: smtp.password };
  }
  const loggingIn = auth !== undefined;
  return nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    requireTLS: !smtp.secure && !smtp.allowInsecureAuth && (loggingIn || smtp.requireTLS),
    auth,
    tls: { rejectUnauthorized: smtp.rejectUnauthorized },
    dkim: smtp.dkim,
    connectionTimeout: 30_000,
    greetingTimeout: 30_000,
    socketTimeout: 60_000,
  });
}
