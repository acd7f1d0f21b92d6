import path from 'node:path';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { Path } from './data.ts';

/** One parsed YAML file: the document (with source ranges) and how to turn offsets into lines. */
export interface Source {
  /** Absolute path. */
  file: string;
  /** How errors name it: relative to the working directory when inside it. */
  display: string;
  doc: Document;
  lines: LineCounter;
}

export interface Position {
  line: number;
  column: number;
}

export interface SyntaxIssue {
  position: Position;
  message: string;
}

export function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : file;
}

export function parseSource(file: string, text: string): { source: Source; issues: SyntaxIssue[] } {
  const lines = new LineCounter();
  // prettyErrors off: yaml's pretty messages quote the offending line, which may hold a secret.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, merge: true, uniqueKeys: true });
  const source: Source = { file, display: displayPath(file), doc, lines };
  const issues = doc.errors.map((e) => {
    const position = positionOf(source, e.pos[0]);
    // yaml may quote the offending source text, which can be a secret: keep only short tokens.
    const message = e.message.replace(/"(?:[^"\\]|\\.){4,}"/g, '"…"');
    return { position, message: message + quoteHint(text, position.line) };
  });
  return { source, issues };
}

/** `{ token: ${X} }` is not YAML (braces end a flow mapping): the usual cause of a puzzling error. */
function quoteHint(text: string, line: number): string {
  const src = text.split('\n')[line - 1] ?? '';
  return /[{[].*(^|[^"'$])\$\{/.test(src) ? ' (inside { … } or [ … ] write "${NAME}" in quotes)' : '';
}

export function positionOf(source: Source, offset: number): Position {
  const { line, col } = source.lines.linePos(offset);
  return { line, column: col };
}

function childPair(node: Node, key: PropertyKey): { key: Node | null; value: Node | null } | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      if (isPair(pair) && isScalar(pair.key) && String(pair.key.value) === String(key)) {
        return { key: pair.key, value: (pair.value as Node | null) ?? null };
      }
    }
    return undefined;
  }
  if (isSeq(node) && typeof key === 'number') {
    const item = node.items[key];
    return item === undefined ? undefined : { key: null, value: item as Node | null };
  }
  return undefined;
}

/**
 * Where `path` is written: the value's position, or with `at: 'key'` the key's. A path that
 * does not exist in the file (a missing key) resolves to the deepest ancestor that does.
 */
export function locate(source: Source, target: Path, at: 'key' | 'value' = 'value'): Position {
  let node = source.doc.contents as Node | null;
  let best: Node | null = node;
  for (let i = 0; i < target.length && node !== null; i++) {
    if (isAlias(node)) node = (node.resolve(source.doc) as Node | undefined) ?? null;
    if (node === null) break;
    const found = childPair(node, target[i] as PropertyKey);
    if (found === undefined) break;
    const preferKey = i < target.length - 1 || at === 'key';
    // Intermediate steps keep the key, so a missing child is reported where its parent is written.
    best = (preferKey ? found.key ?? found.value : found.value ?? found.key) ?? best;
    node = found.value;
  }
  return positionOf(source, best?.range?.[0] ?? 0);
}
