import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { registry } from '../../connectors/registry.ts';
import { ConfigError, loadConfig, type LoadedConfig } from '../config/load.ts';
import { loadConfiguredModel } from '../config/model-file.ts';
import { replay, type Replayed } from '../core/history/replay.ts';
import { RoutingLog, type RoutedRecord } from '../core/history/routing-log.ts';
import { compileRules, RuleCompileError } from '../core/rules/engine.ts';
import { openRuntime } from '../gateway.ts';
import { createLogger } from '../runtime/log.ts';
import type { CliDeps } from './deps.ts';

/**
 * `switchboard rules diff --rules NEW.yaml --last 1000`: the last N routed messages (kept masked
 * by the gateway) through the running rules and through the edited ones, and what would change.
 *
 * NEW.yaml is either a whole config file, or a rules file (only `rules:` and `replies:`) that
 * takes the place of the included file of the same name (or the one `--replace` names).
 */

interface DiffOptions {
  config?: string;
  rules: string;
  replace?: string;
  last: string;
  json?: boolean;
}

const INCLUDABLE = new Set(['rules', 'replies']);

async function isRulesFile(file: string): Promise<boolean> {
  const data: unknown = parse(await readFile(file, 'utf8'));
  return typeof data === 'object' && data !== null && !Array.isArray(data) && Object.keys(data).every((k) => INCLUDABLE.has(k));
}

/** The config as it would be with the edited file in place. */
async function loadEdited(running: LoadedConfig, edited: string, replace: string | undefined, deps: CliDeps): Promise<LoadedConfig> {
  const file = path.resolve(edited);
  let substitute: Map<string, string> | undefined;
  let main = running.file;
  if (await isRulesFile(file)) {
    const included = running.files.filter((f) => f !== running.file);
    const target = replace !== undefined ? path.resolve(replace) : included.find((f) => path.basename(f) === path.basename(file));
    if (target === undefined || !included.includes(target)) {
      throw deps.fail(`${edited} is a rules file; which included file does it replace? Name it with --replace (included: ${included.map((f) => path.relative(process.cwd(), f)).join(', ') || 'none'})`, 'config');
    }
    substitute = new Map([[target, file]]);
  } else {
    main = file;
  }
  try {
    return await loadConfig(main, registry, process.env, { substitute });
  } catch (err) {
    if (err instanceof ConfigError) throw deps.fail(`the edited rules do not load:\n${err.message}`, 'config');
    throw err;
  }
}

function compileOrFail(loaded: LoadedConfig, topics: readonly string[] | undefined, deps: CliDeps) {
  try {
    return compileRules(loaded.config.rules, { replies: loaded.config.replies, modelTopics: topics });
  } catch (err) {
    if (err instanceof RuleCompileError) throw deps.fail(`${loaded.file}: rule '${err.ruleName}' ${err.path}: ${err.message}`, 'config');
    throw err;
  }
}

function excerpt(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > 100 ? `${line.slice(0, 99)}…` : line;
}

export function formatReplay(results: readonly Replayed[]): string {
  const changed = results.filter((r) => r.changes.length > 0);
  const lines: string[] = [];
  for (const r of changed) {
    const m = r.record.message;
    lines.push(`${new Date(r.record.at).toISOString()}  ticket ${r.record.ticketId}  ${m.channel.id}${r.record.isFirst ? '' : ' (follow-up)'}: ${JSON.stringify(excerpt(m.text))}`);
    for (const c of r.changes) lines.push(`  ${c.field.padEnd(8)} ${c.before}  →  ${c.after}`);
    const gone = r.before.firedRules.filter((x) => !r.after.firedRules.includes(x));
    const came = r.after.firedRules.filter((x) => !r.before.firedRules.includes(x));
    if (gone.length + came.length > 0) lines.push(`  rules    ${[...gone.map((x) => `-${x}`), ...came.map((x) => `+${x}`)].join(' ')}`);
  }
  const byField = new Map<string, number>();
  for (const r of changed) for (const c of r.changes) byField.set(c.field, (byField.get(c.field) ?? 0) + 1);
  const summary = [...byField].map(([f, n]) => `${f} ${n}`).join(', ');
  lines.push(`${results.length} message(s) replayed; ${changed.length} would be routed differently${summary ? ` (${summary})` : ''}.`);
  return lines.join('\n');
}

export function registerRulesDiff(rules: Command, deps: CliDeps): void {
  rules
    .command('diff')
    .description('replay the last N routed messages through the running rules and edited ones; print what would change')
    .option('-c, --config <file>', 'config file (env SWITCHBOARD_CONFIG)')
    .requiredOption('--rules <file>', 'the edited rules: a whole config file, or a copy of an included rules file')
    .option('--replace <file>', 'the included file the edited rules file stands for (default: the one with its name)')
    .option('--last <n>', 'how many of the latest routed messages to replay', '1000')
    .option('--json', 'print JSON')
    .action(async (o: DiffOptions) => {
      const last = Number(o.last);
      if (!Number.isInteger(last) || last < 1) throw deps.fail(`--last must be a positive whole number, got '${o.last}'`, 'config');
      const running = await deps.load(o.config);
      const edited = await loadEdited(running, o.rules, o.replace, deps);
      const [model, editedModel] = await Promise.all([loadConfiguredModel(running), loadConfiguredModel(edited)]).catch((err: Error) => {
        throw deps.fail(err.message, 'config');
      });
      const before = { compiled: compileOrFail(running, model?.topics, deps), model };
      const after = { compiled: compileOrFail(edited, editedModel?.topics, deps), model: editedModel };
      const cfg = running.config;
      const rt = await openRuntime(cfg, createLogger({ level: 'warn', secrets: running.secrets }));
      const records: RoutedRecord[] = [];
      try {
        for await (const r of new RoutingLog(rt.kv, cfg.history).newest({ limit: last })) records.push(r);
      } finally {
        await rt.close();
      }
      const results = replay(records, before, after, cfg.timezone);
      if (o.json) {
        return console.log(JSON.stringify(results.filter((r) => r.changes.length > 0).map((r) => ({
          ticketId: r.record.ticketId, at: new Date(r.record.at).toISOString(), text: r.record.message.text, changes: r.changes,
          rulesBefore: r.before.firedRules, rulesAfter: r.after.firedRules,
        })), null, 2));
      }
      if (records.length === 0) return console.log(`no routed messages are kept yet (history.keep: ${cfg.history.keep}); nothing to replay`);
      console.log(formatReplay(results));
    });
}
