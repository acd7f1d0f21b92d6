import type { PatternNode } from '../pattern-tree.ts';

/**
 * Which literal text every match of a pattern contains: a set of strings, one of which occurs in
 * the matched text whenever the pattern matches (RE2's "prefilter" idea, reduced to one set). A
 * text that contains none of them cannot match, so the engine need not run.
 *
 * Each node is summed up either by `exact`, every string it can match (when they are few), or by
 * `needs`, strings one of which occurs in whatever it matches (`undefined`: nothing is known).
 */

interface Info {
  exact?: readonly string[];
  needs?: readonly string[];
}

/** Cross products and unions of exact strings stop growing here. */
const MAX_EXACT = 16;

const NOTHING_KNOWN: Info = {};
const EMPTY: Info = { exact: [''] };

/** What an exact set guarantees on its own: nothing if it can match the empty string. */
function needsOf(info: Info): readonly string[] | undefined {
  if (info.exact) return info.exact.includes('') ? undefined : info.exact;
  return info.needs;
}

function shortest(strings: readonly string[]): number {
  let min = Infinity;
  for (const s of strings) min = Math.min(min, s.length);
  return min;
}

/** The more selective of two sets: its shortest string is longer (rarer), then it has fewer strings. */
function better(a: readonly string[] | undefined, b: readonly string[] | undefined): readonly string[] | undefined {
  if (!a) return b;
  if (!b) return a;
  const [sa, sb] = [shortest(a), shortest(b)];
  if (sa !== sb) return sa > sb ? a : b;
  return a.length <= b.length ? a : b;
}

function unique(strings: readonly string[]): string[] {
  return [...new Set(strings)];
}

function sequence(items: readonly PatternNode[]): Info {
  // A run of exact items multiplies into longer exact strings; an item that is not exact (or would
  // make the run too large) closes the run, and the best set seen anywhere is what the whole needs.
  let run: readonly string[] | undefined = [''];
  let best: readonly string[] | undefined;
  let exact = true;
  for (const item of items) {
    const info = summarize(item);
    if (run && info.exact && run.length * info.exact.length <= MAX_EXACT) {
      run = unique(run.flatMap((a) => (info.exact ?? []).map((b) => a + b)));
      continue;
    }
    exact = false;
    if (run) best = better(best, needsOf({ exact: run }));
    best = better(best, needsOf(info));
    run = info.exact;
  }
  if (exact && run) return { exact: run };
  if (run) best = better(best, needsOf({ exact: run }));
  return { needs: best };
}

function alternation(options: readonly PatternNode[]): Info {
  const infos = options.map(summarize);
  const exact = infos.every((i) => i.exact) ? unique(infos.flatMap((i) => i.exact ?? [])) : undefined;
  if (exact && exact.length <= MAX_EXACT) return { exact };
  // Every branch must promise something, and the promise is any of theirs.
  const sets = infos.map(needsOf);
  return sets.every((s) => s !== undefined) ? { needs: unique(sets.flat() as string[]) } : NOTHING_KNOWN;
}

function summarize(node: PatternNode): Info {
  switch (node.kind) {
    case 'char':
      return { exact: [node.ch] };
    case 'any':
      return node.chars ? { exact: unique(node.chars) } : NOTHING_KNOWN;
    case 'unknown':
      return NOTHING_KNOWN;
    case 'edge':
    case 'look':
      // Zero-width: a lookaround's text is not part of the match.
      return EMPTY;
    case 'named':
      return summarize(node.item);
    case 'seq':
      return sequence(node.items);
    case 'alt':
      return alternation(node.options);
    case 'repeat': {
      const inner = summarize(node.item);
      if (node.min === 1 && node.max === 1) return inner;
      if (node.min === 0) return node.max === 1 && inner.exact ? { exact: unique(['', ...inner.exact]) } : NOTHING_KNOWN;
      // At least once: whatever one round needs.
      return { needs: needsOf(inner) };
    }
  }
}

/** Strings one of which occurs in the text of every match of `node`; `undefined` when none can be told. */
export function requiredText(node: PatternNode): readonly string[] | undefined {
  return needsOf(summarize(node));
}
