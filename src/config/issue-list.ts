import type { Path } from './data.ts';
import { formatPath, type ConfigIssue } from './issues.ts';
import { redact } from './secrets.ts';
import { locate, type Position, type Source } from './source.ts';

/** Issues collected during one load, each tied to the file it is in. */
export class IssueList {
  readonly items: { source: Source; position?: Position; path: Path; message: string }[] = [];
  /** Every file parsed, main first: issues are listed in this order. */
  readonly sources: Source[];

  constructor(sources: Source[] = []) {
    this.sources = sources;
  }

  add(source: Source, position: Position | undefined, path: Path, message: string): void {
    this.items.push({ source, position, path, message });
  }

  /** An issue at `path` inside `source`, positioned where that key or value is written. */
  at(source: Source, path: Path, message: string, at: 'key' | 'value' = 'value'): void {
    this.add(source, locate(source, path, at), path, message);
  }

  /** Sorted by file, then line; every known secret value masked. */
  toIssues(secrets: readonly string[]): ConfigIssue[] {
    const rank = (s: Source) => this.sources.indexOf(s);
    return [...this.items]
      .sort((a, b) => rank(a.source) - rank(b.source) || (a.position?.line ?? 0) - (b.position?.line ?? 0)
        || (a.position?.column ?? 0) - (b.position?.column ?? 0))
      .map((i) => ({
        file: i.source.display,
        ...(i.position === undefined ? {} : { line: i.position.line, column: i.position.column }),
        path: formatPath(i.path),
        message: redact(i.message, secrets),
      }));
  }
}
