import { closest, distance } from 'fastest-levenshtein';
import type { Path } from './data.ts';

export interface ConfigIssue {
  file: string;
  line?: number;
  column?: number;
  /** Key path inside `file`, e.g. `channels.telegram.token` or `rules[2].when.text.matches[0]`. */
  path: string;
  message: string;
}

export function formatPath(path: Path): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (/^[\w-]+$/.test(String(key))) out += out === '' ? String(key) : `.${String(key)}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

export function formatIssue(issue: ConfigIssue): string {
  const where = issue.line === undefined ? issue.file : `${issue.file}:${issue.line}:${issue.column ?? 1}`;
  return issue.path === '' ? `${where} ${issue.message}` : `${where} ${issue.path}: ${issue.message}`;
}

/** Everything wrong with a config, one issue per line: `file:line:col key.path: message`. */
export class ConfigError extends Error {
  readonly issues: ConfigIssue[];
  /** Every file the load read or tried to read (absolute): a watcher waits for them to be fixed. */
  readonly files: string[];

  constructor(issues: ConfigIssue[], files: string[] = []) {
    super(issues.map(formatIssue).join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
    this.files = files;
  }
}

/** The candidate a typo most likely meant, if any is close enough to be a plausible slip. */
export function suggest(input: string, candidates: readonly string[]): string | undefined {
  if (candidates.length === 0 || input === '') return undefined;
  const lower = input.toLowerCase();
  const byCase = candidates.find((c) => c.toLowerCase() === lower);
  if (byCase !== undefined) return byCase;
  const best = closest(lower, candidates.map((c) => c.toLowerCase()));
  const match = candidates.find((c) => c.toLowerCase() === best);
  if (match === undefined) return undefined;
  const limit = Math.max(2, Math.floor(Math.max(input.length, match.length) / 3));
  return distance(lower, best) <= limit ? match : undefined;
}

/** "did you mean 'x'?" or the list of what is allowed. */
export function hint(input: string, candidates: readonly string[], listName = 'allowed'): string {
  const s = suggest(input, candidates);
  if (s !== undefined) return `did you mean '${s}'?`;
  return candidates.length === 0 ? `nothing is ${listName} here` : `${listName}: ${candidates.join(', ')}`;
}
