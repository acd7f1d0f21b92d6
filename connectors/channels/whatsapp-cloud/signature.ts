import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'x-hub-signature-256';

/** `sha256=<hex HMAC-SHA256 of the raw body with the app secret>`, as Meta signs its webhooks. */
export function signBody(rawBody: Buffer, appSecret: string): string {
  return `sha256=${createHmac('sha256', appSecret).update(rawBody).digest('hex')}`;
}

/**
 * Checks Meta's signature over the exact bytes received (Meta escapes non-ASCII as \uXXXX, so
 * re-serialized JSON would not match). Constant time over fixed-length digests.
 */
export function signatureMatches(header: string | undefined, rawBody: Buffer, appSecret: string): boolean {
  if (!header) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(header.trim().toLowerCase()), digest(signBody(rawBody, appSecret)));
}

/** Constant-time comparison of a presented secret with the expected one. */
export function secretMatches(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
