/**
 * IBANs in free text (off by default: `privacy.maskIbans`): two letters, two check digits and
 * 11 to 30 letters or digits, spaces allowed between them, that pass the ISO 13616 mod-97
 * check. The country, check digits and last 4 stay visible: `GB82 **** **** **** **54 32`.
 */

const MIN = 15;
const MAX = 34;
const isAlnum = (c: string | undefined): boolean => c !== undefined && /^[A-Za-z0-9]$/.test(c);
const isLetter = (c: string | undefined): boolean => c !== undefined && /^[A-Za-z]$/.test(c);
const isDigitChar = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';

/** The value of one IBAN character in the mod-97 check: digits as they are, A=10 … Z=35. */
const value = (c: string): number => (isDigitChar(c) ? c.charCodeAt(0) - 48 : c.toUpperCase().charCodeAt(0) - 55);
const append = (rem: number, c: string): number => {
  const v = value(c);
  return (v < 10 ? rem * 10 + v : rem * 100 + v) % 97;
};

/** The IBAN that starts at `start`, as the text index where it ends, or -1. */
function ibanEnd(text: string, start: number): number {
  if (!isLetter(text[start]) || !isLetter(text[start + 1]) || !isDigitChar(text[start + 2]) || !isDigitChar(text[start + 3])) return -1;
  // Read up to MAX characters (single spaces allowed between them), remembering where each ends.
  const ends: number[] = [];
  const chars: string[] = [];
  let i = start;
  while (chars.length < MAX && i < text.length) {
    if (isAlnum(text[i])) {
      chars.push(text[i]!);
      i += 1;
      ends.push(i);
    } else if (text[i] === ' ' && isAlnum(text[i + 1]) && chars.length >= 4) i += 1;
    else break;
  }
  if (isAlnum(text[ends.at(-1) ?? start]) && chars.length === MAX) return -1;
  // mod 97 of (BBAN + country + check digits) for every length, longest first that holds.
  const head = chars.slice(0, 4);
  let rem = 0;
  const byLength: number[] = [];
  for (let n = 4; n < chars.length; n += 1) {
    rem = append(rem, chars[n]!);
    let r = rem;
    for (const c of head) r = append(r, c);
    byLength[n + 1] = r;
  }
  for (let n = chars.length; n >= MIN; n -= 1) {
    if (byLength[n] === 1 && !isAlnum(text[ends[n - 1]!])) return ends[n - 1]!;
  }
  return -1;
}

export function maskIbans(text: string): { text: string; ibans: number } {
  let out = '';
  let last = 0;
  let ibans = 0;
  for (let i = 0; i < text.length; i += 1) {
    if (!isLetter(text[i]) || isAlnum(text[i - 1])) continue;
    const end = ibanEnd(text, i);
    if (end === -1) continue;
    let seen = 0;
    const total = text.slice(i, end).replace(/ /g, '').length;
    let masked = '';
    for (const c of text.slice(i, end)) {
      if (c === ' ') masked += c;
      else masked += seen < 4 || seen >= total - 4 ? c : '*';
      if (c !== ' ') seen += 1;
    }
    out += text.slice(last, i) + masked;
    last = end;
    i = end - 1;
    ibans += 1;
  }
  return { text: out + text.slice(last), ibans };
}
