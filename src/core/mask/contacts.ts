import { digitRuns, type DigitRun } from './digits.ts';

/**
 * Emails and phone numbers in log lines and notices, found by scanning characters rather than by
 * regular expressions, so a hostile line ("a@" a million times) costs one pass.
 */

const isLocalChar = (c: string): boolean => /[\p{L}\p{N}._%+-]/u.test(c);
const isDomainChar = (c: string): boolean => /[\p{L}\p{N}.-]/u.test(c);
const isLetter = (c: string): boolean => /\p{L}/u.test(c);

/**
 * The domain part that ends in a dot and two or more letters (the top-level domain), as the
 * length of `text` from `from` on that forms it; 0 when there is none.
 */
function domainLength(text: string, from: number): number {
  let end = from;
  while (end < text.length && isDomainChar(text[end]!)) end += 1;
  // Trailing dots and hyphens end a sentence, not a domain.
  while (end > from && (text[end - 1] === '.' || text[end - 1] === '-')) end -= 1;
  // The last dot inside this domain only: looking further back would read the text again per `@`.
  let dot = end - 1;
  while (dot > from && text[dot] !== '.') dot -= 1;
  if (dot <= from || end - dot - 1 < 2) return 0;
  for (let k = dot + 1; k < end; k += 1) if (!isLetter(text[k]!)) return 0;
  return end - from;
}

/** `ivan.petrov@mail.ru` → `i***@mail.ru`. Each `@` looks left and right only as far as the next `@`. */
export function maskEmails(text: string): string {
  let out = '';
  let last = 0;
  for (let at = text.indexOf('@'); at !== -1; at = text.indexOf('@', at + 1)) {
    let start = at;
    while (start > last && isLocalChar(text[start - 1]!)) start -= 1;
    if (start === at) continue;
    const domain = domainLength(text, at + 1);
    if (domain === 0) continue;
    out += `${text.slice(last, start)}${text[start]}***@${text.slice(at + 1, at + 1 + domain)}`;
    last = at + 1 + domain;
    at = last - 1;
  }
  return out + text.slice(last);
}

const PHONE_SEPARATORS = new Set([0x20, 0x28, 0x29, 0x2e, 0x2d, 0xa0, 0x09]);
const isWordChar = (c: string | undefined): boolean => c !== undefined && /[\p{L}\p{N}_]/u.test(c);

/** A run of 9 or more digits, not glued to a word, a slash or a hyphen: `+99******67`. */
function phoneSpan(text: string, run: DigitRun): { start: number; end: number } | undefined {
  if (run.digits < 9) return undefined;
  // `(` may open the number: "(90) 123-45-67".
  let start = run.start;
  while (text[start - 1] === '(' || text[start - 1] === '+') start -= 1;
  const before = text[start - 1];
  const after = text[run.end];
  if (isWordChar(before) || before === '/' || before === '-' || isWordChar(after) || after === '/') return undefined;
  return { start, end: run.end };
}

export function maskPhones(text: string): string {
  let out = '';
  let last = 0;
  for (const run of digitRuns(text, (c) => PHONE_SEPARATORS.has(c), 2)) {
    const span = phoneSpan(text, run);
    if (!span || span.start < last) continue;
    const digits = text.slice(span.start, span.end).replace(/\D/g, '');
    out += `${text.slice(last, span.start)}${text[span.start] === '+' ? '+' : ''}${digits.slice(0, 2)}******${digits.slice(-2)}`;
    last = span.end;
  }
  return out + text.slice(last);
}
