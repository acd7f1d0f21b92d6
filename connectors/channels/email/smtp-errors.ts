import type { NodemailerError } from 'nodemailer';
import { DeliveryError } from '../../../src/core/errors.ts';

/**
 * Sorts an SMTP failure. A 5xx rejection (the mailbox does not exist, the message is refused)
 * would be refused again: permanent, and the pipeline tells the agents in a private note. A
 * 4xx, a dropped connection or a timeout are retried. A failed login is ours to fix, not the
 * customer's problem: retried until it dead-letters, so a replay after the fix still delivers.
 */
export function smtpError(what: string, err: unknown, secrets: readonly string[]): DeliveryError {
  const e = (err ?? {}) as NodemailerError;
  const clean = (s: string) => secrets.reduce((out, secret) => (secret ? out.split(secret).join('***') : out), s);
  const response = e.response ? clean(e.response) : undefined;
  const message = clean(e.message ?? String(err));
  if (e.code === 'ETLS') {
    return new DeliveryError(`${what}: the SMTP server offers no working STARTTLS, so the login was not sent (it would travel in clear); `
      + 'use port 465 with secure: true, or set smtp.allowInsecureAuth: true for a test server', {
      kind: 'retry',
      status: e.responseCode,
      detail: response ?? message,
      cause: err,
    });
  }
  if (e.code === 'EAUTH' || e.code === 'ENOAUTH') {
    return new DeliveryError(`${what}: the SMTP server refused our login: ${response ?? message}`, {
      kind: 'retry',
      status: e.responseCode,
      detail: response ?? message,
      cause: err,
    });
  }
  if (e.responseCode !== undefined) {
    const permanent = e.permanent ?? (e.responseCode >= 500 && e.responseCode !== 503);
    return new DeliveryError(`${what}: the SMTP server answered ${e.responseCode}`, {
      kind: permanent ? 'permanent' : 'retry',
      status: e.responseCode,
      detail: response ?? message,
      cause: err,
    });
  }
  // No answer from the server: the message may or may not have been taken.
  return new DeliveryError(`${what}: ${e.code ? `${e.code}: ` : ''}${message}`, {
    kind: 'retry',
    ambiguous: true,
    detail: message,
    cause: err,
  });
}
