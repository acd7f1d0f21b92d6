import { maskCards as maskCardNumbers } from './mask/cards.ts';
import { maskEmails, maskPhones } from './mask/contacts.ts';

/**
 * Masks what must not leave the gateway in logs and notices: card numbers, emails, phone
 * numbers, and any secret value the config holds. Every masker scans the text once (no
 * backtracking regular expression), and log strings are cut to LOG_STRING_MAX first.
 */

export { maskEmails, maskPhones } from './mask/contacts.ts';

/** Card numbers masked to their last 4 digits (see src/core/mask/cards.ts). */
export function maskCards(text: string): string {
  return maskCardNumbers(text).text;
}

/** Cards first: a card number would otherwise be mistaken for a phone. */
export function maskPersonalData(text: string): string {
  return maskPhones(maskEmails(maskCards(text)));
}

/** The longest string a log line carries per field: enough for an error text, never a whole body. */
export const LOG_STRING_MAX = 2000;

/**
 * `text` cut to `max` characters, saying how much was left out. A number cut in half could no
 * longer be recognized (the first 12 digits of a card would stay visible), so a cut never ends
 * inside a run of digits and separators.
 */
export function cutForLog(text: string, max = LOG_STRING_MAX): string {
  if (text.length <= max) return text;
  let end = max;
  while (end > 0 && /[\d\s.()+-]/.test(text[end - 1] ?? '')) end -= 1;
  if (end > 0 && /[\uD800-\uDBFF]/.test(text[end - 1] ?? '')) end -= 1;
  return `${text.slice(0, end)}…[${text.length - end} more characters]`;
}

const SECRET_KEY = /(token|secret|password|passwd|apikey|api_key|authorization|signature|cookie)/i;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/** One string made safe to log: cut, secrets taken out, personal data masked. */
export function redactText(text: string, secrets: readonly string[] = []): string {
  return maskPersonalData(cutForLog(cutSecrets(text, secrets)));
}

/**
 * Returns a copy safe to log: secret-named keys replaced, known secret values cut out,
 * personal data masked in every string. Depth-limited so a huge payload cannot stall logging.
 */
export function redactDeep(value: unknown, secrets: readonly string[] = [], depth = 0): unknown {
  if (typeof value === 'string') return redactText(value, secrets);
  if (value === null || typeof value !== 'object') return value;
  if (depth > 8) return '[…]';
  if (value instanceof Error) {
    return { type: value.name, message: redactDeep(value.message, secrets, depth + 1) };
  }
  if (Buffer.isBuffer(value)) return `[${value.length} bytes]`;
  if (Array.isArray(value)) return value.slice(0, 100).map((v) => redactDeep(v, secrets, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value).slice(0, 200)) {
    out[k] = isSecretKey(k) && v !== undefined && v !== null && v !== '' ? '[REDACTED]' : redactDeep(v, secrets, depth + 1);
  }
  return out;
}

export function cutSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4 && out.includes(s)) out = out.split(s).join('[REDACTED]');
  // Bot API URLs carry the token in the path.
  return out.replace(/\/bot\d+:[A-Za-z0-9_-]+/g, '/bot[REDACTED]');
}
