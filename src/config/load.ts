import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { crossCheck } from './checks.ts';
import { interpolate } from './interpolate.ts';
import { ConfigError, formatPath, hint, type ConfigIssue } from './issues.ts';
import { buildConfigSchema, type Config, type ConnectorRegistry } from './schema.ts';
import { schemaAt, type Path } from './schema-walk.ts';
import { isSecretPath, redact, redactableSecrets } from './secrets.ts';
import { displayPath, locate, parseSource, type Position, type Source } from './source.ts';
import { errorMap, translateIssues, type LocatedMessage } from './zod-issues.ts';

export { ConfigError, type ConfigIssue } from './issues.ts';

export interface LoadedConfig {
  config: Config;
  /** Absolute path of the main file. */
  file: string;
  /** Main file and included files (absolute), for watching. */
  files: string[];
  /** Every secret value in the config (interpolated or literal), for log redaction. */
  secrets: string[];
  /** Things that will not stop the gateway but probably are mistakes. */
  warnings: ConfigIssue[];
}

/** Keys an included file may have. */
const INCLUDABLE = ['rules', 'replies'];

type Data = Record<string, unknown>;

function isRecord(v: unknown): v is Data {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function startsWith(p: Path, prefix: Path): boolean {
  return prefix.length <= p.length && prefix.every((k, i) => p[i] === k);
}

/** Where each merged rule and reply came from, so an issue is reported in its own file. */
class Origins {
  readonly main: Source;
  readonly rules: { source: Source; index: number }[] = [];
  readonly replies = new Map<string, Source>();
  readonly ruleOffset = new Map<Source, number>();

  constructor(main: Source) {
    this.main = main;
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

class IssueList {
  readonly items: { source: Source; position?: Position; path: Path; message: string }[] = [];
  /** Every file parsed, main first: issues are listed in this order. */
  readonly sources: Source[];

  constructor(sources: Source[] = []) {
    this.sources = sources;
  }

  add(source: Source, position: Position | undefined, p: Path, message: string): void {
    this.items.push({ source, position, path: p, message });
  }

  at(source: Source, p: Path, message: string, at: 'key' | 'value' = 'value'): void {
    this.add(source, locate(source, p, at), p, message);
  }

  toIssues(secrets: string[]): ConfigIssue[] {
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

async function readText(file: string): Promise<string> {
  return readFile(file, 'utf8');
}

function errnoCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
}

/** The same text read as a YAML plain scalar (number or boolean), for `${VAR}` where one is expected. */
function asYamlScalar(text: string): number | boolean | undefined {
  if (/^(true|false)$/i.test(text)) return text.toLowerCase() === 'true';
  if (/^[-+]?(\d+|\d*\.\d+|\d+\.\d*)([eE][-+]?\d+)?$/.test(text)) return Number(text);
  return undefined;
}

function setAt(data: unknown, p: Path, value: unknown): void {
  const parent = p.slice(0, -1).reduce<unknown>((v, k) => (isRecord(v) || Array.isArray(v) ? (v as Data)[k as string] : undefined), data);
  const key = p[p.length - 1];
  if (key === undefined || !(isRecord(parent) || Array.isArray(parent))) return;
  if (value === undefined && isRecord(parent)) delete parent[key as string];
  else (parent as Data)[key as string] = value;
}

function stringLeaves(data: unknown, at: Path, out: { path: Path; value: string }[]): void {
  if (typeof data === 'string') out.push({ path: at, value: data });
  else if (Array.isArray(data)) data.forEach((v, i) => stringLeaves(v, [...at, i], out));
  else if (isRecord(data)) for (const [k, v] of Object.entries(data)) stringLeaves(v, [...at, k], out);
}

interface Parsed {
  source: Source;
  data: unknown;
  /** Paths (inside this file) whose interpolation failed: their value is left out, already reported. */
  failed: Path[];
  /** Paths (inside this file) of interpolated scalars. */
  substituted: Path[];
}

async function parseFile(file: string, env: NodeJS.ProcessEnv, issues: IssueList): Promise<Parsed | undefined> {
  const { source, issues: syntax } = parseSource(file, await readText(file));
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
  return { source, data, failed, substituted: interp.substitutions.map((s) => s.path) };
}

/**
 * `include:` files: their rules are appended after the main file's, in include order; their
 * replies are merged, and a reply name defined twice is an error naming both places.
 */
async function loadIncludes(main: Parsed, env: NodeJS.ProcessEnv, issues: IssueList): Promise<Parsed[]> {
  const list = isRecord(main.data) ? main.data.include : undefined;
  if (!Array.isArray(list)) return [];
  const out: Parsed[] = [];
  const seen = new Set([main.source.file]);
  for (const [i, entry] of list.entries()) {
    if (typeof entry !== 'string' || entry === '') continue; // the schema reports it
    const file = path.resolve(path.dirname(main.source.file), entry);
    if (seen.has(file)) {
      issues.at(main.source, ['include', i], `'${entry}' is included twice (or is this file)`);
      continue;
    }
    seen.add(file);
    let parsed: Parsed | undefined;
    try {
      parsed = await parseFile(file, env, issues);
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

function merge(main: Parsed, included: Parsed[], origins: Origins, issues: IssueList): Data {
  const merged: Data = { ...(main.data as Data) };
  const rules = merged.rules === undefined ? [] : merged.rules;
  const replies = merged.replies === undefined ? {} : merged.replies;
  if (Array.isArray(rules)) rules.forEach((_r, index) => origins.rules.push({ source: main.source, index }));
  if (isRecord(replies)) for (const name of Object.keys(replies)) origins.replies.set(name, main.source);
  const mergedRules = Array.isArray(rules) ? [...rules] : rules;
  const mergedReplies = isRecord(replies) ? { ...replies } : replies;

  for (const inc of included) {
    const data = inc.data as Data;
    if (data.rules !== undefined) {
      if (!Array.isArray(data.rules)) issues.at(inc.source, ['rules'], 'must be a list of rules');
      else if (Array.isArray(mergedRules)) {
        origins.ruleOffset.set(inc.source, mergedRules.length);
        data.rules.forEach((rule: unknown, index) => {
          origins.rules.push({ source: inc.source, index });
          mergedRules.push(rule);
        });
      }
    }
    if (data.replies !== undefined) {
      if (!isRecord(data.replies)) issues.at(inc.source, ['replies'], 'must be a mapping of reply name → { language: text }');
      else if (isRecord(mergedReplies)) {
        for (const [name, reply] of Object.entries(data.replies)) {
          const first = origins.replies.get(name);
          if (first !== undefined) {
            const pos = locate(first, ['replies', name], 'key');
            issues.at(inc.source, ['replies', name], `reply '${name}' is already defined in ${first.display}:${pos.line}`, 'key');
            continue;
          }
          origins.replies.set(name, inc.source);
          mergedReplies[name] = reply;
        }
      }
    }
  }
  if (mergedRules !== undefined) merged.rules = mergedRules;
  if (mergedReplies !== undefined) merged.replies = mergedReplies;
  return merged;
}

/**
 * An interpolated string where the schema wants a number or boolean (`port: ${PORT}`) becomes
 * one, and an empty one where the key is optional (`adminToken: ${ADMIN_TOKEN:-}`) leaves the key
 * out. Decided by the schema, so a numeric password stays a string.
 */
function coerceSubstituted(schema: z.core.$ZodType, merged: Data, p: Path): void {
  const leaf = schemaAt(schema, merged, p);
  const value = p.reduce<unknown>((v, k) => (isRecord(v) || Array.isArray(v) ? (v as Data)[k as string] : undefined), merged);
  if (leaf === undefined || typeof value !== 'string' || z.safeParse(leaf, value).success) return;
  const candidates: unknown[] = [];
  const scalar = asYamlScalar(value);
  if (scalar !== undefined) candidates.push(scalar);
  if (value === '') candidates.push(undefined);
  for (const c of candidates) {
    if (z.safeParse(leaf, c).success) {
      setAt(merged, p, c);
      return;
    }
  }
}

/**
 * Reads, interpolates, merges and validates a config file. Throws `ConfigError` listing every
 * problem (file:line:col, key path, message) and nothing else for bad config.
 */
export async function loadConfig(file: string, registry: ConnectorRegistry, env: NodeJS.ProcessEnv = process.env): Promise<LoadedConfig> {
  const abs = path.resolve(file);
  const issues = new IssueList();
  let main: Parsed | undefined;
  try {
    main = await parseFile(abs, env, issues);
  } catch (err) {
    throw new ConfigError([{ file: displayPath(abs), path: '', message: `cannot read the config file: ${errnoCode(err)}` }], [abs]);
  }
  if (main === undefined) throw new ConfigError(issues.toIssues([]), [abs]);
  if (!isRecord(main.data)) {
    issues.add(main.source, undefined, [], 'the top level must be a mapping (server:, helpdesk:, channels:, rules:, …)');
    throw new ConfigError(issues.toIssues([]), [abs]);
  }

  const included = await loadIncludes(main, env, issues);
  const origins = new Origins(main.source);
  const merged = merge(main, included, origins, issues);
  const parsedFiles = [main, ...included];
  const schema = buildConfigSchema(registry);

  for (const p of parsedFiles) {
    for (const local of p.substituted) {
      const at = origins.merged(p.source, local);
      if (at !== undefined) coerceSubstituted(schema, merged, at);
    }
  }
  const leaves: { path: Path; value: string }[] = [];
  stringLeaves(merged, [], leaves);
  const secrets = redactableSecrets(leaves.filter((l) => isSecretPath(l.path, merged, registry)).map((l) => l.value));

  const failed = parsedFiles.flatMap((p) => p.failed.map((f) => origins.merged(p.source, f)).filter((f) => f !== undefined));
  const report = (list: LocatedMessage[], into: IssueList) => {
    for (const m of list) {
      if (failed.some((f) => startsWith(m.path, f))) continue; // already reported as an interpolation error
      const { source, path: local } = origins.local(m.path);
      into.at(source, local, m.message, m.at);
    }
  };

  const result = schema.safeParse(merged, { error: errorMap });
  const warnings = new IssueList(issues.sources);
  if (!result.success) {
    report(translateIssues(result.error.issues, {
      schema,
      data: merged,
      isSecret: (p) => isSecretPath(p, merged, registry),
    }), issues);
  } else {
    const where = (p: Path) => {
      const { source, path: local } = origins.local(p);
      return `${source.display}:${locate(source, local).line}`;
    };
    const checked = crossCheck(result.data, registry, where);
    report(checked.errors, issues);
    report(checked.warnings, warnings);
  }

  const files = issues.sources.map((s) => s.file);
  if (issues.items.length > 0 || !result.success) throw new ConfigError(issues.toIssues(secrets), files);
  return {
    config: result.data,
    file: abs,
    files,
    secrets,
    warnings: warnings.toIssues(secrets),
  };
}
