import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * A signed player id small enough for a Telegram deep link (`t.me/<bot>?start=<token>`: at most
 * 64 characters of A-Z a-z 0-9 _ -). The operator's site makes it for a signed-in player:
 *
 *   token = playerId "_" expiry "_" signature
 *   expiry    = Unix time in seconds, base 36 (lowercase), when the token stops being accepted
 *   signature = base64url( HMAC-SHA256( secret, "sb1:" + playerId + ":" + expiry ) ), first 22 characters
 *
 * The player id may hold A-Z a-z 0-9 _ - and is at most 32 characters. docs/identity.md has the
 * same in Node and PHP for the site.
 */

const SIG_CHARS = 22;
export const MAX_PLAYER_ID_CHARS = 32;
const PLAYER_ID = /^[A-Za-z0-9_-]{1,32}$/;
const TOKEN = /^([A-Za-z0-9_-]{1,32})_([0-9a-z]{1,8})_([A-Za-z0-9_-]{22})$/;

function signature(secret: string, playerId: string, expiry: string): string {
  return createHmac('sha256', secret).update(`sb1:${playerId}:${expiry}`).digest('base64url').slice(0, SIG_CHARS);
}

export function signPlayerToken(playerId: string, secret: string, expiresAt: Date): string {
  if (!PLAYER_ID.test(playerId)) throw new Error(`a player id in a link token is 1–${MAX_PLAYER_ID_CHARS} characters of A-Z a-z 0-9 _ -`);
  const expiry = Math.floor(expiresAt.getTime() / 1000).toString(36);
  return `${playerId}_${expiry}_${signature(secret, playerId, expiry)}`;
}

export type TokenCheck = { ok: true; playerId: string } | { ok: false; reason: string };

/** Checks a token against the current secret and any previous ones still accepted (rotation). */
export function verifyPlayerToken(token: string, secrets: readonly string[], now = new Date()): TokenCheck {
  const m = TOKEN.exec(token);
  if (!m) return { ok: false, reason: 'not a player token' };
  const [, playerId, expiry, sig] = m as unknown as [string, string, string, string];
  const given = Buffer.from(sig);
  const signed = secrets.some((s) => timingSafeEqual(Buffer.from(signature(s, playerId, expiry)), given));
  if (!signed) return { ok: false, reason: 'the signature does not match' };
  if (parseInt(expiry, 36) * 1000 < now.getTime()) return { ok: false, reason: 'the token has expired' };
  return { ok: true, playerId };
}
