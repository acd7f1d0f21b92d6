/**
 * How an answer to the rating question looks when it comes back: a choice id (a button, a list
 * row, a template quick reply) or a typed number. Both are parsed strictly: anything else is not
 * an answer, and nothing from outside is ever used as an object key.
 */

export const MIN_SCORE = 1;
export const MAX_SCORE = 5;

/** Question ids are ULIDs: Crockford base32, 26 characters. */
const QUESTION_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const CHOICE = /^csat:([0-9A-HJKMNP-TV-Z]{26}):([1-5])$/;

export function isQuestionId(id: string): boolean {
  return QUESTION_ID.test(id);
}

/** What a button carries: 33 characters, well inside Telegram's 64-byte callback data. */
export function choiceId(questionId: string, score: number): string {
  return `csat:${questionId}:${score}`;
}

export function parseChoice(id: string): { questionId: string; score: number } | undefined {
  if (id.length > 64) return undefined;
  const m = CHOICE.exec(id);
  return m ? { questionId: m[1]!, score: Number(m[2]) } : undefined;
}

/** Keycap digits (1️⃣ … 5️⃣) as some keyboards send them. */
const KEYCAP = /^([1-5])\uFE0F?\u20E3$/u;

/**
 * A typed rating: one digit 1–5, optionally "/5" or "из 5" and a full stop, or a keycap digit.
 * "5 stars, thanks" or "1000" are not ratings (they go to the agents as usual).
 */
export function parseScoreText(text: string): number | undefined {
  const t = text.trim();
  if (t.length > 12) return undefined;
  const key = KEYCAP.exec(t);
  if (key) return Number(key[1]);
  const m = /^([1-5])(?:\s*(?:\/|из|of|dan)\s*5)?\s*[.!]?$/iu.exec(t);
  return m ? Number(m[1]) : undefined;
}
