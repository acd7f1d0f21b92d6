import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { e2eBench, type E2eRun } from './e2e.ts';
import { ingressBench, type IngressRun } from './ingress.ts';
import { memoryBench, type MemoryRun } from './memory.ts';
import { requestsBench, requestsTable, type RequestsRun } from './requests.ts';
import { modelBench, type ModelRun } from './model.ts';
import { machine, REPO, round } from './lib.ts';

/**
 * `npm run bench`: every benchmark on loopback, bounded in time, each result next to the
 * baseline measured in the same run. Prints Markdown for BENCHMARKS.md.
 * Options: --only ingress,e2e,memory,drain,model,requests,rules  --seconds 10  --messages 10000  --out results.json
 */

const { values } = parseArgs({
  options: {
    only: { type: 'string', default: 'ingress,e2e,memory,drain,model,requests,rules' },
    seconds: { type: 'string', default: '10' },
    messages: { type: 'string', default: '10000' },
    out: { type: 'string' },
  },
});
const only = new Set(values.only.split(','));
const results: { machine: Record<string, string>; at: string; ingress?: IngressRun[]; e2e?: E2eRun[]; memory?: MemoryRun[]; drain?: number | null; model?: ModelRun; requests?: RequestsRun[] } = {
  machine: machine(),
  at: new Date().toISOString(),
};

console.log('## Machine\n');
for (const [k, v] of Object.entries(results.machine)) console.log(`- ${k}: ${v}`);

if (only.has('ingress')) {
  console.log(`\n## Ingress (${values.seconds} s per load, every request a new message)\n`);
  const runs = await ingressBench(Number(values.seconds));
  results.ingress = runs;
  const bare = runs[0]!;
  console.log('| target | acks/s | vs bare | p50 ms | p99 ms | paced 1,000/s p50 | paced p99 | paced p99 vs bare | stored / acked |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of runs) {
    console.log(
      `| ${r.target} | ${r.rps} | ${round((r.rps / bare.rps) * 100)}% | ${r.p50} | ${r.p99} | ${r.pacedP50} | ${r.pacedP99} | ${round(r.pacedP99 / bare.pacedP99, 2)}× | ${r.stored ?? '-'} / ${r.acked}${r.non2xx + r.errors > 0 ? ` (${r.non2xx} non-2xx, ${r.errors} errors)` : ''} |`,
    );
  }
  for (const r of runs) if (r.redisBytesPerMessage) console.log(`\nRedis memory per waiting message: ${r.redisBytesPerMessage} bytes.`);
}

if (only.has('e2e')) {
  console.log(`\n## End to end and memory (${values.messages} messages, helpdesk answers at once)\n`);
  const runs = await e2eBench(Number(values.messages));
  results.e2e = runs;
  console.log('| setup | messages | conversations | seconds | messages/s | vs 2,000/s target | helpdesk requests | added latency p50 / p99 ms (at 200/s) | RSS idle MB | RSS peak MB |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const r of runs) {
    console.log(
      `| ${r.setup} | ${r.messages} | ${r.conversations} | ${r.seconds} | ${r.messagesPerSecond} | ${round((r.messagesPerSecond / 2000) * 100)}% | ${r.helpdeskRequests} | ${r.latencyP50} / ${r.latencyP99} | ${r.rssIdleMb} | ${r.rssPeakMb} |`,
    );
  }
}

if (only.has('memory')) {
  console.log('\n## Memory (one gateway process, resident set size)\n');
  const runs = await memoryBench();
  results.memory = runs;
  console.log('| setup | node flags | idle MB | vs 150 MB target | peak at 1,000 webhooks/s MB |');
  console.log('|---|---|---:|---:|---:|');
  for (const r of runs) console.log(`| ${r.setup} | ${r.flags} | ${r.idleMb} | ${round((r.idleMb / 150) * 100)}% | ${r.loadPeakMb} |`);
}

if (only.has('drain')) {
  // The drain benchmark (a 10,000-message backlog against a rate-limited helpdesk) is its own script.
  const drain = join(REPO, 'bench/drain.ts');
  if (existsSync(drain)) {
    console.log('\n## Drain (bench/drain.ts)\n');
    const r = spawnSync(process.execPath, [drain], { cwd: REPO, stdio: 'inherit' });
    results.drain = r.status;
  } else {
    console.log('\n## Drain\n\nbench/drain.ts is not there yet; skipped.');
    results.drain = null;
  }
}

if (only.has('model')) {
  console.log('\n## Text model (config/models/igaming.json; every labeled message in test/rules/)\n');
  const r = modelBench();
  results.model = r;
  console.log('| file KB | load ms (median of 5) | JSON.parse alone ms | load vs 1 s target | messages | score µs/message (median) | p99 µs | vs 1 ms target | rules µs/message without model | with model | with vs without |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  console.log(`| ${r.fileKb} | ${r.loadMs} | ${r.parseMs} | ${round((r.loadMs / 1000) * 100, 1)}% | ${r.messages} | ${r.scoreUs} | ${r.scoreP99Us} | ${round((r.scoreUs / 1000) * 100, 1)}% | ${r.rulesUs} | ${r.rulesWithModelUs} | ${round(r.rulesWithModelUs / r.rulesUs, 2)}× |`);
}

if (only.has('requests')) {
  console.log('\n## Helpdesk requests per message (shipped rules, real gateway, each fake helpdesk counting)\n');
  results.requests = await requestsBench();
  console.log(requestsTable(results.requests));
}

if (only.has('rules')) {
  // The rules benchmark (per message, compile, hostile text; bench/rules.ts) prints its own sections.
  console.log('');
  spawnSync(process.execPath, [join(REPO, 'bench/rules.ts')], { cwd: REPO, stdio: 'inherit' });
}

if (values.out) {
  await writeFile(values.out, JSON.stringify(results, null, 2) + '\n');
  console.log(`\nwrote ${values.out}`);
}
