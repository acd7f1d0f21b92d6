import { readFile } from 'node:fs/promises';
import { setAt, type Path } from './data.ts';
import { interpolate } from './interpolate.ts';
import type { IssueList } from './issue-list.ts';
import { parseSource, type Source } from './source.ts';

/** One config file, parsed and interpolated. */
export interface ParsedFile {
  source: Source;
  data: unknown;
  /** Paths whose interpolation failed: their value is left out, and already reported. */
  failed: Path[];
  /** Interpolated scalars; `plain` when written unquoted. */
  substituted: { path: Path; plain: boolean }[];
}

/**
 * Reads, parses and interpolates one file, adding its problems to `issues`. Undefined when the
 * YAML itself is broken. Throws only when the file cannot be read.
 */
export async function parseFile(file: string, env: NodeJS.ProcessEnv, issues: IssueList): Promise<ParsedFile | undefined> {
  const { source, issues: syntax } = parseSource(file, await readFile(file, 'utf8'));
  issues.sources.push(source);
  for (const s of syntax) issues.add(source, s.position, [], s.message);
  if (syntax.length > 0) return undefined;
  const interp = await interpolate(source, env);
  for (const i of interp.issues) issues.add(source, i.position, i.path, i.message);
  let data: unknown;
  try {
    data = source.doc.toJS({ maxAliasCount: 1000 }) ?? {};
  } catch (err) {
    issues.add(source, undefined, [], `cannot read the YAML: ${(err as Error).message}`);
    return undefined;
  }
  const failed = interp.issues.map((i) => i.path);
  for (const p of failed) setAt(data, p, undefined);
  return { source, data, failed, substituted: interp.substitutions.map((s) => ({ path: s.path, plain: s.plain })) };
}
