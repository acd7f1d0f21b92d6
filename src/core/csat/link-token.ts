import { createHmac, timingSafeEqual } from 'node:crypto';
import { isQuestionId, MAX_SCORE, MIN_SCORE } from './answer.ts';

/**
 * The rating links in emails: `qid.score.expiry.signature`, signed with `csat.linkSecret`
 * (HMAC-SHA256). The signature covers the question (so the ticket), the score and the expiry:
 * a link cannot be moved to another ticket, another score or a later date. Single use is the
 * gateway's: the first rating of a question is the one kept.
 */

export interface LinkClaims {
  questionId: string;
  score: number;
  /** Unix seconds. */
  expiresAt: number;
}

export type LinkCheck = { ok: true; claims: LinkClaims } | { ok: false; reason: 'malformed' | 'forged' | 'expired' };

const TOKEN = /^([0-9A-HJKMNP-TV-Z]{26})\.(\d{1,2})\.(\d{1,12})\.([A-Za-z0-9_-]{43})$/;

function sign(secret: string, payload: string): string {
  return createHmac('sha256', secret).update(`switchboard-csat-link:${payload}`).digest('base64url');
}

export function linkToken(secret: string, claims: LinkClaims): string {
  const payload = `${claims.questionId}.${claims.score}.${claims.expiresAt}`;
  return `${payload}.${sign(secret, payload)}`;
}

export function checkLinkToken(secret: string, token: string, nowMs = Date.now()): LinkCheck {
  const m = TOKEN.exec(token);
  if (!m) return { ok: false, reason: 'malformed' };
  const [, questionId, scoreText, expiry, signature] = m as unknown as [string, string, string, string, string];
  // Both 43 characters (the pattern says so), so the comparison takes the same time whatever they hold.
  if (!timingSafeEqual(Buffer.from(signature), Buffer.from(sign(secret, `${questionId}.${scoreText}.${expiry}`)))) return { ok: false, reason: 'forged' };
  const score = Number(scoreText);
  // Signed by us, so only a bug makes these fail; checked anyway, as everything from a URL is.
  if (!isQuestionId(questionId) || !Number.isInteger(score) || score < MIN_SCORE || score > MAX_SCORE) return { ok: false, reason: 'malformed' };
  if (Number(expiry) * 1000 < nowMs) return { ok: false, reason: 'expired' };
  return { ok: true, claims: { questionId, score, expiresAt: Number(expiry) } };
}
