/**
 * Cross-validation of the shipped rules and text model over the labeled sets (docs/rules.md, "How
 * the settings were chosen"): the sets are cut into K folds, a model is trained on all folds but
 * one, and each message of that fold is routed through the demo config's rules with the scores of
 * the model that did not see it. Prints the model alone (top topic, log loss) and the whole rule
 * file (topic, RG caught, false urgent, and what the model's own RG rule did). The rules were
 * tuned on these sets, so the keyword side is in-sample; the model side is not.
 *   node test/rules/crossval.ts [--folds 5] [--l2 0.001] [--spelling] [--config config/demo.yaml] [--exclude blind5.yaml --exclude blind6.yaml] [--sets a.yaml --sets b.yaml]
 * `--sets`: only these sets of test/rules/ (default: every set but the excluded ones, the blind sets
 * the shipped model is not trained on).
 * `--spelling`: character n-grams of the spelling, not the Latin skeleton (the round-7 features).
 */
import { readdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { registry } from '../../connectors/registry.ts';
import { loadConfig } from '../../src/config/load.ts';
import { DEFAULT_FEATURES } from '../../src/core/model/features.ts';
import { topTopic, type Scores } from '../../src/core/model/text-model.ts';
import { train, TRAIN_DEFAULTS } from '../../src/core/model/train.ts';
import { seededRandom, shuffle } from '../../src/core/random.ts';
import { compileRules } from '../../src/core/rules/engine.ts';
import { matchKey } from '../../src/core/rules/normalize.ts';
import { testRules } from '../../src/gateway.ts';
import { loadLabeled, type LabeledMessage } from './shipped.ts';
import { RoutingTally } from './tally.ts';

const { values } = parseArgs({
  options: {
    folds: { type: 'string', default: '5' },
    l2: { type: 'string', default: String(TRAIN_DEFAULTS.l2) },
    config: { type: 'string', default: 'config/demo.yaml' },
    exclude: { type: 'string', multiple: true, default: ['blind5.yaml', 'blind6.yaml'] },
    spelling: { type: 'boolean', default: false },
    sets: { type: 'string', multiple: true },
  },
});
const folds = Number(values.folds);
const l2 = Number(values.l2);
const sets = values.sets ?? readdirSync(new URL('./', import.meta.url)).filter((f) => f.endsWith('.yaml') && !values.exclude.includes(f)).sort();
const all: LabeledMessage[] = sets.flatMap(loadLabeled);

// Out-of-fold scores, keyed by the text as the rules hand it to the model.
const fold = shuffle(all.map((_, i) => i), seededRandom(42)).reduce((m, i, j) => m.set(i, j % folds), new Map<number, number>());
const oof = new Map<string, Scores>();
let right = 0;
let logLoss = 0;
for (let f = 0; f < folds; f++) {
  const model = train(all.filter((_, i) => fold.get(i) !== f), { l2, features: { ...DEFAULT_FEATURES, skeleton: !values.spelling } });
  all.forEach((m, i) => {
    if (fold.get(i) !== f) return;
    const scores = model.score(m.text);
    oof.set(matchKey(m.text), scores);
    if (topTopic(scores).topic === m.topic) right++;
    logLoss -= Math.log(Math.max(scores[m.topic] ?? 0, 1e-9));
  });
}
const topics = Object.keys(oof.values().next().value ?? {});
const scorer = { topics, score: (text: string) => oof.get(text) ?? Object.fromEntries(topics.map((t) => [t, 0])) };

const loaded = await loadConfig(values.config, registry, process.env);
const cfg = loaded.config;
const rules = { compiled: compileRules(cfg.rules, { replies: cfg.replies, modelTopics: topics }), replies: cfg.replies, model: scorer };
const channel = Object.keys(cfg.channels)[0]!;
const where = { channelKind: cfg.channels[channel]!.kind, timezone: cfg.timezone };
const tally = new RoutingTally();
let byModelRule = 0;
const modelRuleFalse: string[] = [];
for (const m of all) {
  const { decision } = testRules(rules, { channel, text: m.text, first: true }, where);
  const viaModel = decision.firedRules.includes('responsible-gaming-model');
  tally.add(m.topic, decision);
  if (viaModel && m.topic === 'responsible_gaming') byModelRule++;
  if (viaModel && m.topic !== 'responsible_gaming') modelRuleFalse.push(`  ${decision.model?.scores['responsible_gaming']} ${m.topic}: ${m.text}`);
}
console.log(`${all.length} messages from ${sets.length} sets, ${folds} folds, l2 ${l2}, ${values.spelling ? 'spellings' : 'Latin skeletons'}`);
console.log(`model alone: ${((100 * right) / all.length).toFixed(1)}% top topic right, log loss ${(logLoss / all.length).toFixed(3)}`);
console.log(`rules + model: ${tally}`);
console.log(`responsible-gaming-model: caught ${byModelRule} pleas, raised ${modelRuleFalse.length} routine messages`);
if (modelRuleFalse.length > 0) console.log(modelRuleFalse.join('\n'));
