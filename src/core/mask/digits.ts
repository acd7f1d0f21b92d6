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

/** Replaces the digits of `text` inside `spans` by `*`, except those `keep` says to show. */
export function starDigits(text: string, spans: readonly { span: Span; keep: (digitIndex: number, total: number) => boolean; total: number }[]): string {
  if (spans.length === 0) return text;
  let out = '';
  let last = 0;
  for (const { span, keep, total } of spans) {
    // Spans come sorted; one inside a span already starred is starred with it.
    if (span.start < last) continue;
    out += text.slice(last, span.start);
    let n = 0;
    for (let k = span.start; k < span.end; k += 1) {
      const c = text[k] ?? '';
      if (isDigit(text.charCodeAt(k))) {
        out += keep(n, total) ? c : '*';
        n += 1;
      } else out += c;
    }
    last = span.end;
  }
  return out + text.slice(last);
}
