import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { compileLinear, toRe2Syntax, UnsupportedPattern, type LinearMatch, type LinearRegex } from '../src/core/linear-regex.ts';
import { compileRules, evaluate } from '../src/core/rules/engine.ts';
import { PatternSet, rewritePattern, type PatternCompiler } from '../src/core/rules/pattern.ts';
import { reversePattern, topLevelAlternatives } from '../src/core/rules/word-sides.ts';
import { playerMessage } from '../test/fixtures/message.ts';
import { loadLabeled, loadShippedRules } from '../test/rules/shipped.ts';
import { percentile, REPO, round } from './lib.ts';

/**
 * `node bench/rules.ts` (also `npm run bench -- --only rules`): what the shipped rules
 * (config/rules/igaming.yaml) cost per message on the labeled sets (test/rules/*.yaml), what
 * compiling them costs in a fresh process, and what 1 MB hostile strings cost, for three engines
 * in the same run: V8's backtracking engine on each whole pattern (the baseline, and what ran
 * before issue 11), each pattern as one RE2 program (what ran before this prefilter), and the
 * gateway's own (PatternSet). Prints Markdown for BENCHMARKS.md.
 */

type Engine = 'v8' | 'one RE2 program' | 'gateway';
/** A hostile run still going after this is stopped and reported as such. */
const DEADLINE_MS = 30_000;
const ENGINES: readonly Engine[] = ['v8', 'one RE2 program', 'gateway'];

function v8Pattern(src: string): LinearRegex {
  new RegExp(src, 'u');
  // The general (four-lookaround) form of \b: what the tests compare the linear engines with.
  const re = new RegExp(rewritePattern(src, { narrow: false }), 'iu');
  return {
    source: src,
    test: (text) => re.test(text),
    exec: (text) => {
      const m = re.exec(text);
      const groups = Object.fromEntries(Object.entries(m?.groups ?? {}).filter((e): e is [string, string] => e[1] !== undefined));
      return m ? { text: m[0], index: m.index, groups } : null;
    },
  };
}

/** The engine before the prefilter: every alternative that runs forwards in one RE2 program, the others in another. */
function oneProgram(src: string): LinearRegex {
  new RegExp(src, 'u');
  const forward: string[] = [];
  const backward: string[] = [];
  for (const alt of topLevelAlternatives(src)) {
    try {
      toRe2Syntax(rewritePattern(alt));
      forward.push(alt);
    } catch (err) {
      if (!(err instanceof UnsupportedPattern)) throw err;
      backward.push(alt);
    }
  }
  const ahead = forward.length > 0 ? compileLinear(rewritePattern(forward.join('|')), { backtracking: false }) : undefined;
  const behind = backward.length > 0 ? compileLinear(rewritePattern(reversePattern(backward.join('|'))), { backtracking: false }) : undefined;
  const reversed = (s: string): string => Array.from(s).reverse().join('');
  const test = (text: string): boolean => (ahead?.test(text) ?? false) || (behind?.test(reversed(text)) ?? false);
  // (A backward match is left in the reversed text's terms: the cost is what is measured here.)
  const exec = (text: string): LinearMatch | null => ahead?.exec(text) ?? behind?.exec(reversed(text)) ?? null;
  return { source: src, test, exec };
}

function patterns(engine: Engine): PatternCompiler {
  if (engine === 'v8') return { compile: v8Pattern };
  if (engine === 'one RE2 program') return { compile: oneProgram };
  return new PatternSet();
}

const shipped = loadShippedRules();
const compile = (engine: Engine) => compileRules(shipped.rules, { replies: shipped.replies, patterns: patterns(engine) });
const context = (text: string) => ({ message: playerMessage(text), isFirst: true, now: new Date('2025-03-10T09:00:00Z'), timezone: 'Asia/Tashkent' });
const ratio = (a: number, b: number): string => (a / b < 0.01 ? '< 0.01×' : `${round(a / b, 2)}×`);
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

/**
 * In a worker: evaluate one hostile input the first time, then the fastest of three more (with every
 * program it needs already built), and report the milliseconds.
 */
if (!isMainThread) {
  const { engine, input } = workerData as { engine: Engine; input: string };
  const rules = compile(engine);
  const timed = (): number => {
    const start = performance.now();
    evaluate(rules, context(input));
    return performance.now() - start;
  };
  parentPort?.postMessage([timed(), Math.min(timed(), timed(), timed())]);
} else if (process.argv[2] === '--compile') {
  // In a fresh process: a cold compile, as a gateway does it at start.
  const engine = process.argv[3] as Engine;
  const [cpu, wall] = [cpuMs(), performance.now()];
  const rules = compile(engine);
  const compiled = { cpu: cpuMs() - cpu, wall: performance.now() - wall };
  // The first message also pays for what is built on first use (V8's code for each pattern it runs, the prefilter's automaton).
  const first = performance.now();
  evaluate(rules, context('Здравствуйте, вывод не пришел уже 3 дня, ID 123456'));
  console.log(JSON.stringify({ ...compiled, first: performance.now() - first }));
} else {
  await main();
}

interface Cold {
  cpu: number;
  wall: number;
  first: number;
}

/** Compile in a fresh process, as a gateway does at start: the fastest of three. */
function coldCompile(engine: Engine): Cold {
  const runs = [1, 2, 3].map(() => {
    const r = spawnSync(process.execPath, ['bench/rules.ts', '--compile', engine], { cwd: REPO, encoding: 'utf8' });
    return JSON.parse(r.stdout) as Cold;
  });
  const least = (key: keyof Cold): number => Math.min(...runs.map((r) => r[key]));
  return { cpu: least('cpu'), wall: least('wall'), first: least('first') };
}

/** Per message, the fastest of several rounds (a shared machine adds pauses, never removes work), in µs. */
function perMessage(engine: Engine, texts: readonly string[]): number[] {
  const rules = compile(engine);
  const contexts = texts.map(context);
  for (const c of contexts) evaluate(rules, c);
  const best = contexts.map(() => Infinity);
  for (let r = 0; r < 3; r += 1) {
    contexts.forEach((c, i) => {
      const start = performance.now();
      for (let k = 0; k < 2; k += 1) evaluate(rules, c);
      best[i] = Math.min(best[i] ?? Infinity, ((performance.now() - start) * 1000) / 2);
    });
  }
  return best.sort((a, b) => a - b);
}

function hostile(engine: Engine, input: string): Promise<[number, number] | undefined> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { engine, input } });
    const timer = setTimeout(() => void worker.terminate().then(() => resolve(undefined)), DEADLINE_MS);
    worker.once('message', (ms: [number, number]) => {
      clearTimeout(timer);
      void worker.terminate().then(() => resolve(ms));
    });
    worker.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

async function main(): Promise<void> {
  const files = readdirSync(new URL('../test/rules/', import.meta.url)).filter((f) => f.endsWith('.yaml'));
  const texts = files.flatMap(loadLabeled).map((m) => m.text);

  console.log(`## Rules: the shipped rules per message (${texts.length} labeled messages of test/rules/*.yaml)\n`);
  const compiled = Object.fromEntries(ENGINES.map((e) => [e, coldCompile(e)])) as Record<Engine, Cold>;
  const costs = Object.fromEntries(ENGINES.map((e) => [e, perMessage(e, texts)])) as Record<Engine, number[]>;
  const v8 = { compile: compiled.v8, median: percentile(costs.v8, 50) };
  console.log('| engine | compile in a fresh process: CPU ms (wall) | vs V8 | then the first message, ms | per message median µs | vs V8 | p90 µs | p99 µs | max µs |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const e of ENGINES) {
    const c = costs[e];
    const median = percentile(c, 50);
    const cold = compiled[e];
    console.log(
      `| ${e} | ${round(cold.cpu)} (${round(cold.wall)}) | ${ratio(cold.cpu, v8.compile.cpu)} | ${round(cold.first, 1)} | ${round(median, 1)} | ${ratio(median, v8.median)} | ${round(percentile(c, 90), 1)} | ${round(percentile(c, 99), 1)} | ${round(c.at(-1) ?? 0)} |`,
    );
  }

  const MB = 1_000_000;
  // Text conditions read the first 8,000 normalized characters; the rest of a 1 MB string is
  // normalized and cut. The last input holds every string the prefilter looks for, so every
  // alternative of every pattern runs.
  const everyCue = [...new Set(shipped.rules.flatMap((r) => JSON.stringify(r.when ?? {}).match(/[\p{L}']{4,}/gu) ?? []))].join(' ');
  const inputs: Record<string, string> = {
    'Ж × 400,000': 'Ж'.repeat(400_000) + '!',
    'a × 1,000,000': 'a'.repeat(MB) + '!',
    '"жж " × 333,333': 'жж '.repeat(MB / 3) + '!',
    '"4111 " × 200,000': '4111 '.repeat(MB / 5),
    'every cue word, repeated to 1 MB': `${everyCue} `.repeat(Math.ceil(MB / (everyCue.length + 1))).slice(0, MB),
  };
  console.log(`\n## Rules: one 1 MB hostile message, ms the first time / again (stopped after ${DEADLINE_MS / 1000} s)\n`);
  console.log(`| input | ${ENGINES.join(' | ')} | gateway vs V8, again |`);
  console.log(`|---|${ENGINES.map(() => '---:').join('|')}|---:|`);
  for (const [name, input] of Object.entries(inputs)) {
    const ms: ([number, number] | undefined)[] = [];
    for (const e of ENGINES) ms.push(await hostile(e, input));
    const [base, , ours] = ms;
    const shown = ms.map((m) => (m === undefined ? `> ${DEADLINE_MS / 1000} s` : `${round(m[0])} / ${round(m[1])}`));
    console.log(`| ${name} | ${shown.join(' | ')} | ${base && ours ? ratio(ours[1], base[1]) : '–'} |`);
  }
}
