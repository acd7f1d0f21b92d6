import { createHash, timingSafeEqual } from 'node:crypto';

/**
 * Compares a presented secret (token, password, signature) with the expected one. Both sides are
 * hashed first so timingSafeEqual always sees equal-length inputs: a plain `===` or a length check
 * would let an attacker learn the secret's content or length from response times.
 */
export function secretMatches(given: string | undefined, expected: string): boolean {
  if (given === undefined) return false;
  const digest = (s: string) => createHash('sha256').update(s).digest();
  return timingSafeEqual(digest(given), digest(expected));
}
