import { spawnSync } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { drainBench } from './drain.ts';
import { e2eBench } from './e2e.ts';
import { fairnessBench } from './fairness.ts';
import { backlogBench, ingressBench } from './ingress.ts';
import { loadAverage, machine, REPO } from './lib.ts';
import { memoryBench } from './memory.ts';
import { modelBench } from './model.ts';
import { rateLimitBench } from './rate-limit.ts';
import { requestsBench } from './requests.ts';
import { markdown, updateDocument, type Results } from './report.ts';
import { stormBench } from './storm.ts';

/**
 * `npm run bench`: every benchmark on loopback, each result next to the baselines measured in
 * the same run, with the machine's load average. Prints the Markdown for BENCHMARKS.md (the
 * targets at a glance first); `--update BENCHMARKS.md` writes it into the file between its
 * markers, `--out results.json` keeps the raw numbers.
 *
 *   npm run bench                      the full run (about 25 minutes on 2 cores)
 *   npm run bench -- --quick           smaller and shorter (about 5 minutes): for a change, not for the record
 *   npm run bench -- --only storm,drain
 *
 * Sections: ingress, storm, drain, fairness, backlog, e2e, memory, ratelimit, requests, model, rules.
 */

const ALL = ['ingress', 'storm', 'drain', 'fairness', 'backlog', 'e2e', 'memory', 'ratelimit', 'requests', 'model', 'rules'];
const QUICK = ['ingress', 'storm', 'drain', 'fairness', 'requests', 'model'];

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    out: { type: 'string' },
    update: { type: 'string' },
  },
});
const quick = values.quick;
const only = new Set((values.only ?? (quick ? QUICK : ALL).join(',')).split(','));
for (const name of only) if (!ALL.includes(name)) throw new Error(`unknown section ${name} (${ALL.join(', ')})`);

const results: Results = { at: new Date().toISOString(), quick, machine: machine() };
const step = (name: string) => console.error(`[bench] ${name} (load average ${loadAverage()})`);

if (only.has('ingress')) {
  step('ingress');
  results.ingress = await ingressBench(quick ? { rounds: 2, seconds: 3, rate: 1000 } : { rounds: 4, seconds: 8, rate: 1000 });
}
if (only.has('storm')) {
  step('storm');
  results.storm = await stormBench(quick ? { seconds: 5, backlog: 4000 } : { seconds: 10, backlog: 10_000 });
}
if (only.has('drain')) {
  step('drain');
  results.drain = await drainBench(quick ? { messages: 20_000, chats: 2000, workers: [1, 2] } : { messages: 100_000, chats: 2000, workers: [1, 2, 4] });
}
if (only.has('fairness')) {
  step('fairness');
  results.fairness = await fairnessBench(
    quick
      ? { perMinute: 6000, conversations: 200, perConversation: 5, floodSenders: 2, floodEach: 500 }
      : { perMinute: 6000, conversations: 1000, perConversation: 5, floodSenders: 5, floodEach: 1000 },
  );
}
if (only.has('backlog')) {
  step('backlog');
  results.backlog = await backlogBench(quick ? [50_000] : [100_000, 500_000], quick ? 3 : 5, quick ? 2 : 3);
}
if (only.has('e2e')) {
  step('e2e');
  results.e2e = await e2eBench(quick ? 3000 : 10_000);
}
if (only.has('memory')) {
  step('memory');
  results.memory = await memoryBench();
}
if (only.has('ratelimit')) {
  step('rate limit');
  results.rateLimit = await rateLimitBench({ messages: quick ? 3000 : 10_000, perMinute: 12_000, windowMs: 6000, chats: 200, scenarios: ['configured', 'reported', 'shared'] });
}

if (only.has('requests')) {
  step('helpdesk requests per message');
  results.requests = await requestsBench();
}
if (only.has('model')) {
  step('text model');
  results.model = modelBench();
}
if (only.has('rules')) {
  step('rules');
  // bench/rules.ts (per message, compile, hostile text) runs in a fresh process and prints its own Markdown sections.
  const run = spawnSync(process.execPath, [join(REPO, 'bench/rules.ts')], { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  results.rules = run.stdout.trim();
}

const md = markdown(results);
console.log(md);
if (values.out) await writeFile(values.out, JSON.stringify(results, null, 2) + '\n');
if (values.update) {
  await writeFile(values.update, updateDocument(await readFile(values.update, 'utf8'), md));
  console.error(`[bench] wrote ${values.update}`);
}
