/**
 * Masks what must not leave the gateway in logs and notices: card numbers (Luhn-checked),
 * emails, phone numbers, and any secret value the config holds.
 */

const CARD = /\b(?:\d[ -]?){12,18}\d\b/g;
const EMAIL = /[\p{L}\p{N}._%+-]+@[\p{L}\p{N}.-]+\.\p{L}{2,}/gu;
const PHONE = /(?<![\w/-])\+?\d[\d\s().-]{7,16}\d(?![\w/])/g;

function luhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

export function maskCards(text: string): string {
  return text.replace(CARD, (m) => {
    const digits = m.replace(/\D/g, '');
    if (digits.length < 13 || digits.length > 19 || !luhn(digits)) return m;
    return `**** **** **** ${digits.slice(-4)}`;
  });
}

export function maskEmails(text: string): string {
  return text.replace(EMAIL, (m) => {
    const at = m.indexOf('@');
    return `${m[0]}***@${m.slice(at + 1)}`;
  });
}

export function maskPhones(text: string): string {
  return text.replace(PHONE, (m) => {
    const digits = m.replace(/\D/g, '');
    if (digits.length < 9 || digits.length > 15) return m;
    return `${m.startsWith('+') ? '+' : ''}${digits.slice(0, 2)}******${digits.slice(-2)}`;
  });
}

/** Cards first: a card number would otherwise be mistaken for a phone. */
export function maskPersonalData(text: string): string {
  return maskPhones(maskEmails(maskCards(text)));
}

const SECRET_KEY = /(token|secret|password|passwd|apikey|api_key|authorization|signature|cookie)/i;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key);
}

/**
 * Returns a copy safe to log: secret-named keys replaced, known secret values cut out,
 * personal data masked in every string. Depth-limited so a huge payload cannot stall logging.
 */
export function redactDeep(value: unknown, secrets: readonly string[] = [], depth = 0): unknown {
  if (typeof value === 'string') return maskPersonalData(cutSecrets(value, secrets));
  if (value === null || typeof value !== 'object') return value;
  if (depth > 8) return '[…]';
  if (value instanceof Error) {
    return { type: value.name, message: redactDeep(value.message, secrets, depth + 1) };
  }
  if (Buffer.isBuffer(value)) return `[${value.length} bytes]`;
  if (Array.isArray(value)) return value.slice(0, 100).map((v) => redactDeep(v, secrets, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) {
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
