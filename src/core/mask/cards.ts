import { digitRuns, isDigit, starDigits, type DigitRun, type Span } from './digits.ts';

/**
 * Card numbers (PAN) in free text, told apart from phone numbers and player ids. The rule,
 * documented with examples in docs/privacy.md (whose table is also a test):
 *
 * - a run of digit groups joined by at most two spaces, hyphens or dots, with 13 to 19 digits;
 * - that does not start with 0 (no card does; `0044…` is a phone) and is not led by `+` (E.164);
 * - and either passes the Luhn check (in any grouping, or none), or is grouped like a card
 *   (a first group of 4 digits, then groups of 4 to 6, the last of 1 to 6: "4276 1600 1234 5678"
 *   is masked though its check digit is wrong).
 * A run of more than 19 digits that holds such a card is masked whole.
 * Only the last 4 digits stay visible (PCI DSS allows at most the first 6 and the last 4).
 */

export interface CardMaskOptions {
  /** Also mask a 3–4 digit group (a CVV/CVC) shortly after a card. */
  cvv?: boolean;
}

export interface Masked {
  text: string;
  /** How many card numbers (and CVVs) were masked. */
  cards: number;
  cvvs: number;
}

const SEPARATORS = new Set([0x20, 0x2d, 0x2e, 0xa0, 0x2007, 0x2009, 0x202f, 0x2010, 0x2011, 0x2012, 0x2013]);
const isSeparator = (code: number): boolean => SEPARATORS.has(code);
/** How far after a card a CVV may stand (`exp 12/27 cvv 123`). */
const CVV_REACH = 40;

export function luhn(digits: string): boolean {
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

const len = (g: Span): number => g.end - g.start;

function groupedLikeACard(groups: readonly Span[]): boolean {
  if (groups.length < 2 || len(groups[0]!) !== 4) return false;
  const last = groups.length - 1;
  return groups.every((g, k) => k === 0 || (k === last ? len(g) <= 6 : len(g) >= 4 && len(g) <= 6));
}

/** Groups `i..j` of `run`, whose digits are `digits`, are a card number. */
function isCard(text: string, run: DigitRun, i: number, j: number, digits: string): boolean {
  const first = run.groups[i]!;
  if (digits.length < 13 || digits.length > 19 || text[first.start] === '0') return false;
  if (i === 0 && text[run.start - 1] === '+') return false;
  return luhn(digits) || groupedLikeACard(run.groups.slice(i, j + 1));
}

const digitsOf = (text: string, groups: readonly Span[]): string => groups.map((g) => text.slice(g.start, g.end)).join('');

/** Some window of consecutive groups of a long run is a card. Each start looks at most 19 digits on. */
function holdsACard(text: string, run: DigitRun): boolean {
  for (let i = 0; i < run.groups.length; i += 1) {
    let digits = '';
    for (let j = i; j < run.groups.length; j += 1) {
      const g = run.groups[j]!;
      digits += text.slice(g.start, g.end);
      if (digits.length > 19) break;
      if (isCard(text, run, i, j, digits)) return true;
    }
  }
  return false;
}

/** A group touching `/` is part of a date (`12/27`), not of a card: it ends the run. */
function withoutDates(text: string, run: DigitRun): DigitRun {
  const groups = [...run.groups];
  while (groups.length > 1 && (text[groups[0]!.end] === '/' || text[groups[0]!.start - 1] === '/')) groups.shift();
  while (groups.length > 1 && (text[groups.at(-1)!.start - 1] === '/' || text[groups.at(-1)!.end] === '/')) groups.pop();
  if (groups.length === run.groups.length) return run;
  return { start: groups[0]!.start, end: groups.at(-1)!.end, groups, digits: groups.reduce((n, g) => n + len(g), 0) };
}

/** The first 3–4 digit number within reach after `from` that is not part of a date (`12/27`). */
function cvvAfter(text: string, from: number): Span | undefined {
  const stop = Math.min(text.length, from + CVV_REACH);
  for (let i = from; i < stop; i += 1) {
    if (!isDigit(text.charCodeAt(i))) continue;
    let end = i;
    while (end < text.length && isDigit(text.charCodeAt(end))) end += 1;
    const dated = text[i - 1] === '/' || text[end] === '/';
    if (!dated && (end - i === 3 || end - i === 4)) return { start: i, end };
    if (!dated) return undefined;
    i = end;
  }
  return undefined;
}

/**
 * 13 digits with at most two separators between each: most texts have none, and V8 finds that
 * out faster than the scan below. Each attempt reads at most 39 characters, so it stays linear.
 */
const CANDIDATE = /(?:\d[ \-.\u00a0\u2007\u2009\u202f\u2010-\u2013]{0,2}){12}\d/;

export function maskCards(text: string, opts: CardMaskOptions = {}): Masked {
  if (!CANDIDATE.test(text)) return { text, cards: 0, cvvs: 0 };
  const spans: Parameters<typeof starDigits>[1][number][] = [];
  let cvvs = 0;
  for (const found of digitRuns(text, isSeparator, 2)) {
    const run = withoutDates(text, found);
    if (run.digits < 13) continue;
    let masked = false;
    if (run.digits <= 19) {
      if (isCard(text, run, 0, run.groups.length - 1, digitsOf(text, run.groups))) {
        spans.push({ span: run, total: run.digits, keep: (n, total) => n >= total - 4 });
        masked = true;
      }
    } else if (holdsACard(text, run)) {
      spans.push({ span: run, total: run.digits, keep: () => false });
      masked = true;
    }
    if (masked && opts.cvv) {
      const cvv = cvvAfter(text, run.end);
      if (cvv) {
        spans.push({ span: cvv, total: cvv.end - cvv.start, keep: () => false });
        cvvs += 1;
      }
    }
  }
  spans.sort((a, b) => a.span.start - b.span.start);
  return { text: starDigits(text, spans), cards: spans.length - cvvs, cvvs };
}
