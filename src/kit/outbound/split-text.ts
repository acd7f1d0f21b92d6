/** Telegram's limit for one text message, in UTF-16 code units (what String.length counts). */
export const TELEGRAM_TEXT_LIMIT = 4096;

/**
 * Splits text into parts of at most `limit` characters, cutting at the last paragraph break,
 * else line break, else space that leaves a reasonably full part; a hard cut never splits a
 * surrogate pair (an emoji would turn into two broken characters).
 */
export function splitText(text: string, limit = TELEGRAM_TEXT_LIMIT): string[] {
  const parts: string[] = [];
  let rest = text.trim();
  while (rest.length > limit) {
    const cut = cutPoint(rest, limit);
    const part = rest.slice(0, cut).trimEnd();
    if (part !== '') parts.push(part);
    rest = rest.slice(cut).trimStart();
  }
  if (rest !== '') parts.push(rest);
  return parts;
}

function cutPoint(text: string, limit: number): number {
  const window = text.slice(0, limit + 1);
  // Never accept a boundary so early that the part is mostly empty.
  const floor = Math.floor(limit / 3);
  for (const boundary of [/\n\s*\n/g, /\n/g, /\s/g]) {
    const at = lastMatch(window, boundary);
    if (at > floor) return at;
  }
  const code = text.charCodeAt(limit - 1);
  const splitsPair = code >= 0xd800 && code <= 0xdbff;
  return splitsPair ? limit - 1 : limit;
}

function lastMatch(text: string, pattern: RegExp): number {
  let last = -1;
  for (const m of text.matchAll(pattern)) last = m.index;
  return last;
}
