import path from 'node:path';
import { checkInput, crossCheck } from './checks.ts';
import { checkCsat } from './csat-checks.ts';
import { isRecord, startsWith, stringLeaves, type Path } from './data.ts';
import { loadIncludes, mergeIncludes, Origins } from './include.ts';
import { IssueList } from './issue-list.ts';
import { ConfigError, type ConfigIssue } from './issues.ts';
import { parseFile, type ParsedFile } from './parse-file.ts';
import { retype } from './retype.ts';
import { buildConfigSchema, connectorWarnings, type Config, type ConnectorRegistry } from './schema.ts';
import { isSecretPath, redactableSecrets } from './secrets.ts';
import { displayPath, locate } from './source.ts';
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

async function readMain(file: string, env: NodeJS.ProcessEnv, issues: IssueList): Promise<ParsedFile> {
  let main: ParsedFile | undefined;
  try {
    main = await parseFile(file, env, issues);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new ConfigError([{ file: displayPath(file), path: '', message: `cannot read the config file: ${code}` }], [file]);
  }
  if (main !== undefined && !isRecord(main.data)) {
    issues.add(main.source, undefined, [], 'the top level must be a mapping (server:, helpdesk:, channels:, rules:, …)');
  }
  if (main === undefined || !isRecord(main.data)) throw new ConfigError(issues.toIssues([]), [file]);
  return main;
}

/**
 * Reads, interpolates, merges and validates a config file. Bad config throws `ConfigError`
 * listing every problem (file:line:col, key path, message); nothing else is thrown for it.
 */
export async function loadConfig(
  file: string,
  registry: ConnectorRegistry,
  env: NodeJS.ProcessEnv = process.env,
  options: { substitute?: ReadonlyMap<string, string> } = {},
): Promise<LoadedConfig> {
  const abs = path.resolve(file);
  const issues = new IssueList();
  const main = await readMain(abs, env, issues);
  const included = await loadIncludes(main, env, issues, options.substitute);
  const origins = new Origins(main.source);
  const merged = mergeIncludes(main, included, origins, issues);
  const files = [main, ...included];
  const schema = buildConfigSchema(registry);

  for (const f of files) {
    for (const sub of f.substituted) {
      const at = origins.merged(f.source, sub.path);
      if (at !== undefined) retype(schema, merged, at, sub.plain);
    }
  }
  const secrets = redactableSecrets(stringLeaves(merged).filter((l) => isSecretPath(l.path, merged, registry)).map((l) => l.value));

  const failed = files.flatMap((f) => f.failed.map((p) => origins.merged(f.source, p)).filter((p) => p !== undefined));
  const report = (list: LocatedMessage[], into: IssueList) => {
    for (const m of list) {
      if (failed.some((f) => startsWith(m.path, f))) continue; // already reported as an interpolation error
      const { source, path: local } = origins.local(m.path);
      into.at(source, local, m.message, m.at);
    }
  };

  const result = schema.safeParse(merged, { error: errorMap });
  if (!result.success) {
    const isSecret = (p: Path) => isSecretPath(p, merged, registry);
    report(translateIssues(result.error.issues, { schema, data: merged, isSecret }), issues);
  }
  const where = (p: Path) => {
    const { source, path: local } = origins.local(p);
    return `${source.display}:${locate(source, local).line}`;
  };
  const checked = crossCheck(checkInput(merged), registry, where);
  const csatChecked = checkCsat(merged, registry);
  const warnings = new IssueList(issues.sources);
  report([...checked.errors, ...csatChecked.errors], issues);
  report([...checked.warnings, ...csatChecked.warnings], warnings);
  if (result.success) report(connectorWarnings(result.data, registry).map((w) => ({ ...w, at: 'value' as const })), warnings);

  const read = issues.sources.map((s) => s.file);
  if (!result.success || issues.items.length > 0) throw new ConfigError(issues.toIssues(secrets), read);
  return { config: result.data, file: abs, files: read, secrets, warnings: warnings.toIssues(secrets) };
}
