import type { Command } from 'commander';
import path from 'node:path';
import { registry } from '../../connectors/registry.ts';
import { parseDuration } from '../config/learning.ts';
import { modelPathOf, writeModelFile } from '../config/model-file.ts';
import type { Example, Evaluation } from '../core/model/train.ts';
import { evaluateModel, splitHeldOut, train, trainFile, TRAIN_DEFAULTS } from '../core/model/train.ts';
import { createHistoryReader, dataDirOf, openRuntime } from '../gateway.ts';
import { createLogger } from '../runtime/log.ts';
import { createRateLimiter, type RateLimiterOptions } from '../runtime/rate-limiter.ts';
import type { CliDeps } from './deps.ts';
import { readHelpdeskExamples, readLabeledFile } from './training-data.ts';

/** `switchboard model train`: a text model from labeled files and/or the helpdesk's handled tickets. */

interface TrainCliOptions {
  config?: string;
  from?: string[];
  exclude?: string[];
  fromHelpdesk?: boolean;
  since: string;
  out?: string;
  heldOut: string;
  seed: string;
  epochs: string;
}

export function formatEvaluation(ev: Evaluation, title: string): string {
  const lines = [`${title}: ${(ev.accuracy * 100).toFixed(1)}% right`, '  topic                precision  recall  messages'];
  for (const [topic, m] of Object.entries(ev.perTopic)) {
    lines.push(`  ${topic.padEnd(20)} ${(m.precision * 100).toFixed(1).padStart(8)}%  ${(m.recall * 100).toFixed(1).padStart(5)}%  ${String(m.support).padStart(8)}`);
  }
  if (ev.confusions.length > 0) lines.push(`  most confused: ${ev.confusions.slice(0, 5).map(([k, n]) => `${k} ×${n}`).join(', ')}`);
  return lines.join('\n');
}

function count(examples: readonly Example[]): string {
  const by = new Map<string, number>();
  for (const e of examples) by.set(e.topic, (by.get(e.topic) ?? 0) + 1);
  return [...by].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([t, n]) => `${t} ${n}`).join(', ');
}

export function registerModelCommands(program: Command, deps: CliDeps): void {
  const model = program.command('model').description('the learned text model that `model:` rule conditions ask');
  model
    .command('train')
    .description('train the text model from labeled files and/or the helpdesk\'s handled tickets, print held-out precision and recall, write the model file')
    .option('-c, --config <file>', 'config file (env SWITCHBOARD_CONFIG): the helpdesk, `topics:` and `model.path`')
    .option('--from <files...>', 'labeled files: YAML (a list of { text, topic }) or JSON Lines')
    .option('--exclude <files...>', 'files to leave out of --from (e.g. blind sets kept for scoring)')
    .option('--from-helpdesk', 'also train on the helpdesk\'s tickets, labeled by their tags through `topics:`')
    .option('--since <duration>', 'with --from-helpdesk: tickets created or updated in this window', '180d')
    .option('--out <file>', 'where to write the model (default: the config\'s model.path)')
    .option('--held-out <fraction>', 'share of each topic kept out of training to score the model', '0.2')
    .option('--seed <n>', 'seed for the split and the training order (same seed, same model)', String(TRAIN_DEFAULTS.seed))
    .option('--epochs <n>', 'passes over the training data', String(TRAIN_DEFAULTS.epochs))
    .action(async (o: TrainCliOptions) => {
      const heldOutShare = Number(o.heldOut);
      const seed = Number(o.seed);
      const epochs = Number(o.epochs);
      if (!(heldOutShare >= 0 && heldOutShare < 1)) throw deps.fail(`--held-out must be a fraction in [0, 1), got '${o.heldOut}'`, 'config');
      if (!Number.isInteger(seed)) throw deps.fail(`--seed must be an integer, got '${o.seed}'`, 'config');
      if (!Number.isInteger(epochs) || epochs < 1 || epochs > 1000) throw deps.fail(`--epochs must be 1–1000, got '${o.epochs}'`, 'config');
      if (!o.from?.length && !o.fromHelpdesk) throw deps.fail('say what to train on: --from FILE… and/or --from-helpdesk', 'config');

      const needConfig = o.fromHelpdesk || o.out === undefined;
      const loaded = needConfig ? await deps.load(o.config) : undefined;
      const out = o.out !== undefined ? path.resolve(o.out) : loaded && modelPathOf(loaded);
      if (!out) throw deps.fail(`no model.path in ${loaded?.file}: say where to write the model with --out FILE, or set model.path`, 'config');

      const examples: Example[] = [];
      const sources: string[] = [];
      const excluded = new Set((o.exclude ?? []).map((f) => path.resolve(f)));
      for (const file of o.from ?? []) {
        if (excluded.has(path.resolve(file))) {
          console.log(`leaving out ${file}`);
          continue;
        }
        let got: Example[];
        try {
          got = await readLabeledFile(file);
        } catch (err) {
          throw deps.fail((err as Error).message, 'config');
        }
        console.log(`read ${file}: ${got.length} messages`);
        examples.push(...got);
        sources.push(path.basename(file));
      }
      if (o.fromHelpdesk && loaded) {
        const sinceMs = parseDuration(o.since);
        if (sinceMs === undefined) throw deps.fail(`--since must be a duration like 180d, got '${o.since}'`, 'config');
        const cfg = loaded.config;
        const log = createLogger({ level: 'warn', secrets: loaded.secrets });
        // The configured store, for its shared rate limiter: with Redis, running gateways and this
        // command share one budget at the helpdesk.
        const rt = await openRuntime(cfg, log);
        let got: Awaited<ReturnType<typeof readHelpdeskExamples>>;
        try {
          const makeLimiter = (opts: RateLimiterOptions) => rt.sharedRateLimiter?.('helpdesk', opts) ?? createRateLimiter(opts);
          const reader = createHistoryReader(registry, cfg, { log, kv: rt.kv, dataDir: dataDirOf(cfg), makeLimiter });
          if (!reader) throw deps.fail(`helpdesk '${cfg.helpdesk.kind}' has no ticket list to train from`, 'config');
          const since = new Date(Date.now() - sinceMs);
          console.log(`reading ${cfg.helpdesk.kind} tickets since ${since.toISOString()} …`);
          got = await readHelpdeskExamples(reader, { since, topics: cfg.topics, onProgress: (n) => console.log(`  ${n} tickets read`) });
        } finally {
          await rt.close();
        }
        console.log(`read ${got.tickets} tickets from ${cfg.helpdesk.kind} (${got.empty} without text left out): ${count(got.examples)}`);
        examples.push(...got.examples);
        sources.push(`${cfg.helpdesk.kind} since ${o.since}`);
      }
      const topics = new Set(examples.map((e) => e.topic));
      if (topics.size < 2) throw deps.fail(`training needs messages of at least two topics; got ${examples.length} message(s) of ${[...topics].join(', ') || 'none'}`, 'config');
      console.log(`training on ${examples.length} messages: ${count(examples)}`);

      const progress = (label: string) => (epoch: number, total: number, loss: number) => {
        if (epoch === total || epoch % 10 === 0) console.log(`  ${label}: epoch ${epoch}/${total}, loss ${loss.toFixed(4)}`);
      };
      let heldOutMetrics: Evaluation['perTopic'] | undefined;
      if (heldOutShare > 0) {
        const split = splitHeldOut(examples, heldOutShare, seed);
        const probe = train(split.train, { seed, epochs, onEpoch: progress(`held-out check (${split.train.length} to train, ${split.heldOut.length} held out)`) });
        const ev = evaluateModel(probe, split.heldOut);
        console.log(formatEvaluation(ev, `held out (${split.heldOut.length} messages the check model did not see)`));
        heldOutMetrics = ev.perTopic;
      }
      const file = trainFile(examples, { seed, epochs, sources, heldOut: heldOutMetrics, onEpoch: progress(`final model (${examples.length} messages)`) });
      await writeModelFile(out, file);
      console.log(`wrote ${out}: topics ${file.topics.join(', ')}; ${file.trained.examples} messages; ${Math.round(JSON.stringify(file).length / 1024)} KB`);
    });
}
