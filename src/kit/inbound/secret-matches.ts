import { hash, timingSafeEqual } from 'node:crypto';

/** Digests of expected secrets (a handful, from the config), so each request hashes only what it brought. */
const expectedDigests = new Map<string, Buffer>();
const MAX_REMEMBERED = 64;

const digest = (s: string): Buffer => hash('sha256', s, 'buffer');

function expectedDigest(expected: string): Buffer {
  let d = expectedDigests.get(expected);
  if (d === undefined) {
    // Per-request expectations (an HMAC of the body) come and go: keep the map small.
    if (expectedDigests.size >= MAX_REMEMBERED) expectedDigests.clear();
    expectedDigests.set(expected, (d = digest(expected)));
  }
  return d;
}

/**
 * Compares a presented secret (token, password, signature) with the expected one. Both sides are
 * hashed first so timingSafeEqual always sees equal-length inputs: a plain `===` or a length check
 * would let an attacker learn the secret's content or length from response times.
 */
export function secretMatches(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  return timingSafeEqual(digest(given), expectedDigest(expected));
}
