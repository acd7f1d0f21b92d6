import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { access, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { registry } from '../../connectors/registry.ts';
import { UsageError, type ChannelDefinition } from '../core/connector.ts';
import { messageJsonSchema } from '../core/message.ts';
import { compileRules, RuleCompileError } from '../core/rules/engine.ts';
import { ConfigError, loadConfig, type LoadedConfig } from '../config/load.ts';
import { configJsonSchema, rulesJsonSchema } from '../config/schema.ts';
import { createHelpdesk, dataDirOf, openRuntime, roleProblem, startGateway, testRules, type Role } from '../gateway.ts';
import { createLogger } from '../runtime/log.ts';
import { parseDuration } from '../core/kpi/duration.ts';
import { printableReport } from './report.ts';
import { loadConfiguredModel } from '../config/model-file.ts';
import type { CliDeps } from './deps.ts';
import { registerModelCommands } from './model-train.ts';
import { registerRulesDiff } from './rules-diff.ts';
import { registerRulesEval } from './rules-eval.ts';
import { formatModelScores } from './show-scores.ts';
import { memoryKv } from '../runtime/memory-kv.ts';

/**
 * Exit codes scripts can trust:
 * 0 ok · 1 runtime failure · 2 bad usage or invalid config · 3 an online check failed · 4 not found.
 */
export const EXIT = { ok: 0, failure: 1, config: 2, check: 3, notFound: 4 } as const;

class ExitError extends Error {
  readonly code: number;
  constructor(message: string, code: number) {
    super(message);
    this.code = code;
  }
}

const defaultConfig = () => process.env['SWITCHBOARD_CONFIG'] ?? 'switchboard.yaml';
const configOption = () => new Option('-c, --config <file>', 'config file (env SWITCHBOARD_CONFIG)').default(undefined, '$SWITCHBOARD_CONFIG or ./switchboard.yaml');

/** Where the config comes from when `--config` is not given, said the way a newcomer can act on it. */
function missingConfig(file: string | undefined, path: string): string {
  if (file !== undefined) return `config file not found: ${path}`;
  const from = process.env['SWITCHBOARD_CONFIG'] ? `SWITCHBOARD_CONFIG names ${path}, which does not exist` : `no config file given, and ./${path} does not exist`;
  return `${from}. Name the config with --config FILE (or SWITCHBOARD_CONFIG=FILE): --config config/demo.yaml runs the demo; `
    + 'for your own, copy config/switchboard.example.yaml to switchboard.yaml.';
}

async function load(file: string | undefined): Promise<LoadedConfig> {
  const path = file ?? defaultConfig();
  // Said before loading, in words a newcomer can act on (the loader would say ENOENT).
  try {
    await access(path);
  } catch {
    throw new ExitError(missingConfig(file, path), EXIT.config);
  }
  try {
    const loaded = await loadConfig(path, registry, process.env);
    compileRules(loaded.config.rules);
    return loaded;
  } catch (err) {
    if (err instanceof ConfigError) throw new ExitError(err.message, EXIT.config);
    if (err instanceof RuleCompileError) throw new ExitError(`${path}: rule '${err.ruleName}' ${err.path}: ${err.message}`, EXIT.config);
    throw err;
  }
}

/** The configured store (embedded or Redis), without a worker: for dead-letter housekeeping. */
async function openStore(loaded: LoadedConfig) {
  return openRuntime(loaded.config, createLogger({ level: 'warn', secrets: loaded.secrets }));
}

const deps: CliDeps = { load, fail: (message, code) => new ExitError(message, EXIT[code]) };

export function buildProgram(): Command {
  const program = new Command('switchboard')
    .description('Channel gateway: customer messages into your helpdesk, agents\' replies back.')
    .version(packageVersion(), '-V, --version', 'print the version')
    .showHelpAfterError()
    .exitOverride();

  program
    .command('start')
    .description('run the gateway')
    .addOption(configOption())
    .addOption(new Option('--role <role>', 'what this process does').choices(['all', 'ingress', 'worker']).default('all'))
    .option('--port <port>', 'override server.port', (v) => Number(v))
    .action(async (o: { config?: string; role: Role; port?: number }) => {
      const loaded = await load(o.config); // fail fast with the exit code for a bad config
      const refused = roleProblem(o.role, loaded.config);
      if (refused) throw new ExitError(refused, EXIT.config);
      const gw = await startGateway({ configFile: o.config ?? defaultConfig(), registry, role: o.role, port: o.port });
      const shutdown = (signal: string) => {
        gw.log.info({ signal }, 'shutting down');
        void gw.close().then(() => process.exit(0), () => process.exit(1));
      };
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
    });

  program
    .command('check')
    .description('validate the config; with --online also try every credential')
    .addOption(configOption())
    .option('--online', 'call the helpdesk and each channel to prove the credentials work')
    .action(async (o: { config?: string; online?: boolean }) => {
      const loaded = await load(o.config);
      const cfg = loaded.config;
      console.log(`config OK: ${loaded.file}`);
      for (const w of loaded.warnings) console.log(`  warning: ${w.file}${w.line ? `:${w.line}` : ''} ${w.path}: ${w.message}`);
      console.log(`  helpdesk: ${cfg.helpdesk.kind}`);
      console.log(`  channels: ${Object.entries(cfg.channels).map(([id, c]) => `${id} (${c.kind})`).join(', ') || 'none'}`);
      console.log(`  rules: ${cfg.rules.length}, replies: ${Object.keys(cfg.replies).length}`);
      const model = await loadConfiguredModel(loaded).catch((err: Error) => {
        throw new ExitError(err.message, EXIT.config);
      });
      if (model) {
        try {
          compileRules(cfg.rules, { modelTopics: model.topics });
        } catch (err) {
          if (err instanceof RuleCompileError) throw new ExitError(`${loaded.file}: rule '${err.ruleName}' ${err.path}: ${err.message}`, EXIT.config);
          throw err;
        }
        console.log(`  model: ${model.topics.join(', ')} (${model.file.trained.examples} messages, trained ${model.file.trained.at})`);
      }
      if (!o.online) return;
      let failed = 0;
      const log = createLogger({ level: 'warn', secrets: loaded.secrets });
      const kv = memoryKv();
      const report = async (what: string, fn: (() => Promise<string>) | undefined) => {
        if (!fn) return console.log(`  ${what}: no online check for this kind`);
        try {
          console.log(`  ${what}: OK, ${await fn()}`);
        } catch (err) {
          failed++;
          console.log(`  ${what}: FAILED, ${err instanceof Error ? err.message : String(err)}`);
        }
      };
      const helpdesk = await createHelpdesk(registry, cfg, { log, kv, dataDir: dataDirOf(cfg) });
      await report(`helpdesk ${cfg.helpdesk.kind}`, helpdesk.check?.bind(helpdesk));
      for (const [id, chCfg] of Object.entries(cfg.channels)) {
        const def = registry.channels.find((d) => d.kind === chCfg.kind)!;
        const { kind: _kind, ...options } = chCfg;
        const instance = await def.create(def.options.parse(options), {
          channelId: id, log, kv, dataDir: dataDirOf(cfg), publicUrl: cfg.server.publicUrl,
          blobs: { put: async () => '', get: async () => undefined, delete: async () => undefined },
          accept: async () => [],
          noteToAgents: async () => undefined,
          replyAgain: async () => undefined,
          afterSends: async () => undefined,
          conversationForTicket: async () => undefined,
        });
        await report(`channel ${id}`, instance.check?.bind(instance));
      }
      for (const [id, nCfg] of Object.entries(cfg.notifiers)) {
        const def = (registry.notifiers ?? []).find((d) => d.kind === nCfg.kind)!;
        const { kind: _kind, ...options } = nCfg;
        const instance = await def.create(def.options.parse(options), { log, kv });
        await report(`notifier ${id}`, instance.check?.bind(instance));
      }
      if (failed > 0) throw new ExitError(`${failed} online check(s) failed`, EXIT.check);
    });

  const rules = program.command('rules').description('work with the routing rules');
  rules
    .command('test')
    .description('print the Decision the rules make for a sample message, and which rules fired')
    .addOption(configOption())
    .requiredOption('--channel <id>', 'channel id from the config')
    .requiredOption('--text <text>', 'the message text')
    .option('--follow-up', 'treat it as a follow-up, not the first message of a conversation')
    .option('--sender <field=value...>', 'sender fields, e.g. locale=uz phone=+998...')
    .option('--form <field=value...>', 'form fields')
    .option('--json', 'print JSON')
    .action(async (o: { config?: string; channel: string; text: string; followUp?: boolean; sender?: string[]; form?: string[]; json?: boolean }) => {
      const loaded = await load(o.config);
      const cfg = loaded.config;
      const channel = cfg.channels[o.channel];
      if (!channel) throw new ExitError(`no channel '${o.channel}' in ${loaded.file} (channels: ${Object.keys(cfg.channels).join(', ')})`, EXIT.config);
      const model = await loadConfiguredModel(loaded).catch((err: Error) => {
        throw new ExitError(err.message, EXIT.config);
      });
      const result = testRules(
        { compiled: compileRules(cfg.rules, { modelTopics: model?.topics }), replies: cfg.replies, model },
        { channel: o.channel, text: o.text, first: !o.followUp, sender: pairs(o.sender), form: o.form ? pairs(o.form) : undefined },
        { channelKind: channel.kind, timezone: cfg.timezone },
      );
      if (o.json) return console.log(JSON.stringify(result, null, 2));
      const d = result.decision;
      console.log(`priority: ${d.priority ?? '(helpdesk default)'}`);
      console.log(`tags:     ${d.tags.join(', ') || '-'}`);
      console.log(`type:     ${d.type ?? '-'}`);
      console.log(`group:    ${d.group ?? '-'}`);
      if (Object.keys(d.fields).length > 0) console.log(`fields:   ${JSON.stringify(d.fields)}`);
      if (d.subject) console.log(`subject:  ${d.subject}`);
      console.log(`replies:  ${d.replies.join(', ') || '-'}`);
      console.log(`notify:   ${d.notify.join(', ') || '-'}`);
      for (const line of formatModelScores(d, result.trace)) console.log(line);
      console.log('rules:');
      for (const t of result.trace) console.log(`  ${t.fired ? 'FIRED' : '  -  '} ${t.rule}${t.why ? `: ${t.why}` : ''}`);
    });
  registerRulesEval(rules, deps);
  registerRulesDiff(rules, deps);
  registerModelCommands(program, deps);

  const dlq = program.command('dlq').description('inspect and replay the dead-letter queue');
  dlq
    .command('list')
    .description('list dead letters, newest first, with the remote side\'s error')
    .addOption(configOption())
    .option('--limit <n>', 'how many', (v) => Number(v), 50)
    .option('--json', 'print JSON')
    .action(async (o: { config?: string; limit: number; json?: boolean }) => {
      const rt = await openStore(await load(o.config));
      try {
        const items = await rt.dlq.list({ limit: o.limit });
        if (o.json) return console.log(JSON.stringify(items, null, 2));
        if (items.length === 0) return console.log('the dead-letter queue is empty');
        for (const d of items) {
          console.log(`${d.id}  ${new Date(d.failedAt).toISOString()}  ${d.payload.kind}  ${d.lane}  attempts=${d.attempts}`);
          console.log(`  error:  ${d.error}`);
          if (d.detail) console.log(`  detail: ${d.detail.slice(0, 500)}`);
        }
      } finally {
        await rt.close();
      }
    });
  for (const [name, verb] of [['replay', 'put back in its lane with fresh attempts'], ['drop', 'delete for good']] as const) {
    dlq
      .command(`${name} <id>`)
      .description(`${verb}: one dead letter by id, or all`)
      .addOption(configOption())
      .action(async (id: string, o: { config?: string }) => {
        const rt = await openStore(await load(o.config));
        try {
          const n = name === 'replay' ? await rt.dlq.replay(id) : await rt.dlq.drop(id);
          if (n === 0 && id !== 'all') throw new ExitError(`no dead letter ${id}`, EXIT.notFound);
          console.log(`${name === 'replay' ? 'replayed' : 'dropped'} ${n}`);
        } finally {
          await rt.close();
        }
      });
  }

  program
    .command('report')
    .description('conversations by channel and topic: volume, first response (median, p90), share within SLA, contact reasons against the period before')
    .addOption(configOption())
    .option('--since <duration>', 'the period up to now, e.g. 24h, 7d, 30d', '7d')
    .option('--csv', 'one CSV table instead of text')
    .action(async (o: { config?: string; since: string; csv?: boolean }) => {
      const sinceMs = parseDuration(o.since);
      if (sinceMs === undefined) throw new ExitError(`--since: expected a duration like 24h, 7d or 30d, got '${o.since}'`, EXIT.config);
      const loaded = await load(o.config);
      const rt = await openStore(loaded);
      try {
        console.log(await printableReport(rt.timing, loaded.config, { sinceMs, csv: o.csv }));
      } finally {
        await rt.close();
      }
    });

  program
    .command('schema')
    .description('print the config JSON Schema (for editors), the rules-file schema, or the normalized message schema')
    .option('--rules', 'the schema of a rules file (one named in include:) instead')
    .option('--message', 'the normalized message schema instead')
    .option('--write', 'write config/switchboard.schema.json, config/rules.schema.json and config/message.schema.json')
    .action(async (o: { rules?: boolean; message?: boolean; write?: boolean }) => {
      const json = (v: unknown) => JSON.stringify(v, null, 2) + '\n';
      const schemas = {
        'switchboard.schema.json': json(configJsonSchema(registry)),
        'rules.schema.json': json(rulesJsonSchema()),
        'message.schema.json': json(messageJsonSchema()),
      };
      if (o.write) {
        const dir = fileURLToPath(new URL('../../config/', import.meta.url));
        for (const [name, text] of Object.entries(schemas)) await writeFile(`${dir}${name}`, text);
        return console.log(`wrote ${Object.keys(schemas).map((n) => dir + n).join(', ')}`);
      }
      process.stdout.write(schemas[o.message ? 'message.schema.json' : o.rules ? 'rules.schema.json' : 'switchboard.schema.json']);
    });

  for (const def of registry.channels) addChannelCommands(program, def);

  return program;
}

function packageVersion(): string {
  const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return typeof pkg === 'object' && pkg !== null && 'version' in pkg ? String(pkg.version) : 'unknown';
}

/** `switchboard <kind> <command>` for the commands a channel's definition brings, run for one channel of that kind. */
function addChannelCommands(program: Command, def: ChannelDefinition): void {
  if (!def.commands?.length) return;
  const group = program.command(def.kind).description(`${def.kind} channel housekeeping`);
  for (const cmd of def.commands) {
    const sub = group
      .command(cmd.name)
      .description(cmd.description)
      .addOption(configOption())
      .option('--channel <id>', `the ${def.kind} channel id (default: the only one)`);
    for (const f of cmd.flags ?? []) sub.option(f.flags, f.description);
    sub.action(async (o: { config?: string; channel?: string } & Record<string, unknown>) => {
      const cfg = (await load(o.config)).config;
      const ofKind = Object.entries(cfg.channels).filter(([, c]) => c.kind === def.kind);
      const picked = o.channel ? ofKind.find(([id]) => id === o.channel) : ofKind.length === 1 ? ofKind[0] : undefined;
      if (!picked) {
        throw new ExitError(o.channel ? `no ${def.kind} channel '${o.channel}'` : `say which channel with --channel (${ofKind.map(([id]) => id).join(', ') || 'none configured'})`, EXIT.config);
      }
      const { kind: _kind, ...raw } = picked[1];
      try {
        console.log(await cmd.run({ channelId: picked[0], options: def.options.parse(raw), publicUrl: cfg.server.publicUrl, flags: o }));
      } catch (err) {
        if (err instanceof UsageError) throw new ExitError(err.message, EXIT.config);
        throw err;
      }
    });
  }
}

function pairs(list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of list ?? []) {
    const i = p.indexOf('=');
    if (i <= 0) throw new ExitError(`expected field=value, got '${p}'`, EXIT.config);
    out[p.slice(0, i)] = p.slice(i + 1);
  }
  return out;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? EXIT.ok : EXIT.config;
    }
    if (err instanceof ExitError) {
      console.error(err.message);
      return err.code;
    }
    console.error(`switchboard: ${err instanceof Error ? err.message : String(err)}`);
    return EXIT.failure;
  }
}

const code = await main(process.argv);
// `start` keeps running; every other command ends here (open keep-alive sockets must not hold it),
// once stdout has taken everything: into a pipe, a bare exit cuts off a long output (`schema | …`).
if (process.argv[2] !== 'start' || code !== EXIT.ok) process.stdout.write('', () => process.exit(code));
