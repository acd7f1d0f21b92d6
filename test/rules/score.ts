/**
 * Scores a labeled set the way `switchboard rules test` routes a message with a config (default:
 * the shipped demo config, its rules and its text model): each message as the first of a
 * conversation on the config's first channel. Prints topic accuracy, responsible-gaming recall,
 * false urgents, and the misses.
 *   node test/rules/score.ts FILE.yaml [--config config/demo.yaml] [--quiet]
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { parse } from 'yaml';
import { registry } from '../../connectors/registry.ts';
import { loadConfig } from '../../src/config/load.ts';
import { loadConfiguredModel } from '../../src/config/model-file.ts';
import { compileRules } from '../../src/core/rules/engine.ts';
import { testRules } from '../../src/gateway.ts';
import { RoutingTally } from './tally.ts';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { config: { type: 'string', default: 'config/demo.yaml' }, quiet: { type: 'boolean' } } });
const loaded = await loadConfig(values.config, registry, process.env);
const cfg = loaded.config;
const model = await loadConfiguredModel(loaded);
const rules = { compiled: compileRules(cfg.rules, { replies: cfg.replies, modelTopics: model?.topics }), replies: cfg.replies, model };
const channel = Object.keys(cfg.channels)[0]!;
const where = { channelKind: cfg.channels[channel]!.kind, timezone: cfg.timezone };

for (const file of positionals) {
  const data = parse(readFileSync(file, 'utf8')) as { text: string; topic: string }[] | { messages: { text: string; topic: string }[] };
  const set = Array.isArray(data) ? data : data.messages;
  const tally = new RoutingTally();
  const misses: string[] = [];
  for (const m of set) {
    const { decision } = testRules(rules, { channel, text: m.text, first: true }, where);
    const got = tally.add(m.topic, decision);
    if (got !== m.topic) misses.push(`  ${m.topic} → ${got} [${decision.firedRules.filter((r) => !['first-message-subject', 'player-id-from-text', 'player-id-from-sender'].includes(r)).join(', ')}]${decision.model ? ` rg=${decision.model.scores['responsible_gaming']}` : ''}: ${m.text}`);
  }
  console.log(`${file}: ${tally}`);
  if (!values.quiet && misses.length > 0) console.log(misses.join('\n'));
}
