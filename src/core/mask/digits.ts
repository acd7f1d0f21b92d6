/**
 * One pass over a text that finds runs of digit groups joined by short separators
 * ("4111 1111-1111 1111", "+998 90 123-45-67"). Card and phone masking read these runs instead
 * of running regular expressions, so the work is one look at each character, whatever the text.
 */

export interface Span {
  start: number;
  end: number;
}

export interface DigitRun extends Span {
  /** The digit groups, in order; separators lie between them. */
  groups: Span[];
  /** Number of digits in all groups. */
  digits: number;
}

export const isDigit = (code: number): boolean => code >= 48 && code <= 57;

/** Runs whose groups are separated by 1 to `maxGap` characters that `isSeparator` accepts. */
export function digitRuns(text: string, isSeparator: (code: number) => boolean, maxGap: number): DigitRun[] {
  const runs: DigitRun[] = [];
  let run: DigitRun | undefined;
  let i = 0;
  while (i < text.length) {
    if (!isDigit(text.charCodeAt(i))) {
      i += 1;
      continue;
    }
    const start = i;
    while (i < text.length && isDigit(text.charCodeAt(i))) i += 1;
    const group = { start, end: i };
    if (run && run.end === start) {
      run.groups.push(group);
      run.digits += i - start;
      run.end = i;
    } else {
      run = { start, end: i, groups: [group], digits: i - start };
      runs.push(run);
    }
    // Look past a short separator: if a digit follows, the run goes on there.
    let j = i;
    while (j < text.length && j - i < maxGap && isSeparator(text.charCodeAt(j))) j += 1;
    if (j > i && j < text.length && isDigit(text.charCodeAt(j))) {
      run.end = j;
      i = j;
    } else run = undefined;
  }
  return runs;
}

const utf16 = new TextDecoder('utf-16le');

/**
 * Replaces the digits of `text` inside `spans` by `*`, except those `keep` says to show. Each span
 * is copied code unit by code unit into a typed array and decoded once: adding one character at a
 * time to a string cost half a second on a megabyte of digit groups.
 */
export function starDigits(text: string, spans: readonly { span: Span; keep: (digitIndex: number, total: number) => boolean; total: number }[]): string {
  if (spans.length === 0) return text;
  const out: string[] = [];
  let last = 0;
  for (const { span, keep, total } of spans) {
    // Spans come sorted; one inside a span already starred is starred with it.
    if (span.start < last) continue;
    out.push(text.slice(last, span.start));
    const units = new Uint16Array(span.end - span.start);
    let n = 0;
    for (let k = span.start; k < span.end; k += 1) {
      const c = text.charCodeAt(k);
      units[k - span.start] = isDigit(c) && !keep(n++, total) ? 42 : c;
    }
    out.push(utf16.decode(units));
    last = span.end;
  }
  out.push(text.slice(last));
  return out.join('');
}
