import { createHmac } from 'node:crypto';
import { secretMatches } from '../../../src/kit/inbound/secret-matches.ts';

export const SIGNATURE_HEADER = 'x-hub-signature-256';

/** `sha256=<hex HMAC-SHA256 of the raw body with the app secret>`, as Meta signs its webhooks. */
export function signBody(rawBody: Buffer, appSecret: string): string {
  return `sha256=${createHmac('sha256', appSecret).update(rawBody).digest('hex')}`;
}

/**
 * Checks Meta's signature over the exact bytes received (Meta escapes non-ASCII as \uXXXX, so
 * re-serialized JSON would not match).
 */
export function signatureMatches(header: string | undefined, rawBody: Buffer, appSecret: string): boolean {
  if (!header) return false;
  return secretMatches(header.trim().toLowerCase(), signBody(rawBody, appSecret));
}
