import path from 'node:path';
import { isRecord, type Data, type Path } from './data.ts';
import { hint } from './issues.ts';
import type { IssueList } from './issue-list.ts';
import { parseFile, type ParsedFile } from './parse-file.ts';
import { locate, type Source } from './source.ts';

/** Keys an included file may have. */
const INCLUDABLE = ['rules', 'replies'];

/** Where each merged rule and reply came from, so an issue is reported in its own file. */
export class Origins {
  readonly main: Source;
  private readonly rules: { source: Source; index: number }[] = [];
  private readonly replies = new Map<string, Source>();
  private readonly ruleOffset = new Map<Source, number>();

  constructor(main: Source) {
    this.main = main;
  }

  addRules(source: Source, count: number): void {
    this.ruleOffset.set(source, this.rules.length);
    for (let index = 0; index < count; index++) this.rules.push({ source, index });
  }

  /** Records a reply name; answers where it was defined first when it already was. */
  addReply(source: Source, name: string): Source | undefined {
    const first = this.replies.get(name);
    if (first === undefined) this.replies.set(name, source);
    return first;
  }

  /** A merged-data path → the file and the path inside it. */
  local(p: Path): { source: Source; path: Path } {
    const [head, second, ...rest] = p;
    if (head === 'rules' && typeof second === 'number') {
      const o = this.rules[second];
      if (o !== undefined) return { source: o.source, path: ['rules', o.index, ...rest] };
    }
    if (head === 'replies' && typeof second === 'string') {
      const s = this.replies.get(second);
      if (s !== undefined) return { source: s, path: p };
    }
    return { source: this.main, path: p };
  }

  /** A path inside `source` → the merged-data path (undefined: not part of the merged config). */
  merged(source: Source, p: Path): Path | undefined {
    if (source === this.main) return p;
    const [head, second, ...rest] = p;
    if (head === 'rules' && typeof second === 'number') {
      const offset = this.ruleOffset.get(source);
      return offset === undefined ? undefined : ['rules', offset + second, ...rest];
    }
    if (head === 'replies' && typeof second === 'string' && this.replies.get(second) === source) return p;
    return undefined;
  }
}

function errnoCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
}

/**
 * Reads the files named by the main file's `include:` (one level: they cannot include).
 * `substitute` reads another file in place of an included one (`rules diff` of an edited copy).
 */
export async function loadIncludes(main: ParsedFile, env: NodeJS.ProcessEnv, issues: IssueList, substitute?: ReadonlyMap<string, string>): Promise<ParsedFile[]> {
  const list = isRecord(main.data) ? main.data.include : undefined;
  if (!Array.isArray(list)) return [];
  const out: ParsedFile[] = [];
  const seen = new Set([main.source.file]);
  for (const [i, entry] of list.entries()) {
    if (typeof entry !== 'string' || entry === '') continue; // the schema reports it
    const file = path.resolve(path.dirname(main.source.file), entry);
    if (seen.has(file)) {
      issues.at(main.source, ['include', i], `'${entry}' is included twice (or is this file)`);
      continue;
    }
    seen.add(file);
    let parsed: ParsedFile | undefined;
    try {
      parsed = await parseFile(substitute?.get(file) ?? file, env, issues);
    } catch (err) {
      issues.at(main.source, ['include', i], `cannot read included file '${entry}': ${errnoCode(err)}`);
      continue;
    }
    if (parsed === undefined) continue;
    if (!isRecord(parsed.data)) {
      issues.add(parsed.source, undefined, [], 'an included file must be a mapping with rules: and/or replies:');
      continue;
    }
    for (const key of Object.keys(parsed.data)) {
      if (INCLUDABLE.includes(key)) continue;
      const why = key === 'include' ? 'include: is only allowed in the main config file' : `unknown key '${key}' in an included file, ${hint(key, INCLUDABLE)}`;
      issues.at(parsed.source, [key], why, 'key');
    }
    out.push(parsed);
  }
  return out;
}

/**
 * The main file's data with the included files' rules appended (in include order) and their
 * replies merged; a reply name defined twice is an error naming both places. Where the main
 * file's own rules or replies are malformed, nothing is merged into them (the schema says why).
 */
export function mergeIncludes(main: ParsedFile, included: ParsedFile[], origins: Origins, issues: IssueList): Data {
  const merged: Data = { ...(main.data as Data) };
  const rules = merged.rules ?? [];
  const replies = merged.replies ?? {};
  if (Array.isArray(rules)) origins.addRules(main.source, rules.length);
  if (isRecord(replies)) for (const name of Object.keys(replies)) origins.addReply(main.source, name);
  const allRules = Array.isArray(rules) ? [...rules] : undefined;
  const allReplies = isRecord(replies) ? { ...replies } : undefined;

  for (const inc of included) {
    const data = inc.data as Data;
    if (data.rules !== undefined && !Array.isArray(data.rules)) issues.at(inc.source, ['rules'], 'must be a list of rules');
    else if (Array.isArray(data.rules) && allRules !== undefined) {
      origins.addRules(inc.source, data.rules.length);
      allRules.push(...(data.rules as unknown[]));
    }
    if (data.replies !== undefined && !isRecord(data.replies)) {
      issues.at(inc.source, ['replies'], 'must be a mapping of reply name → { language: text }');
    } else if (isRecord(data.replies) && allReplies !== undefined) {
      for (const [name, reply] of Object.entries(data.replies)) {
        const first = origins.addReply(inc.source, name);
        if (first === undefined) {
          allReplies[name] = reply;
          continue;
        }
        const line = locate(first, ['replies', name], 'key').line;
        issues.at(inc.source, ['replies', name], `reply '${name}' is already defined in ${first.display}:${line}`, 'key');
      }
    }
  }
  if (allRules !== undefined) merged.rules = allRules;
  if (allReplies !== undefined) merged.replies = allReplies;
  return merged;
}
