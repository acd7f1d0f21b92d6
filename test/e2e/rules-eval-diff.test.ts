import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, waitFor } from './harness.ts';
import { closeFakes, fakeEnv, launchGateway, startFakes, yaml, type LaunchedGateway, type Started } from '../fixtures/gateway.ts';

/**
 * Production accuracy and safe edits, end to end: the real gateway routes form messages into a
 * fake Zendesk and keeps its decisions; agents re-file two tickets; `rules eval` reports the
 * confusion those re-filings imply (and the gateway's gauges say the same); `rules diff` replays
 * the kept messages through an edited rules file and shows exactly the decisions it changes.
 */

const ROUTING = `
rules:
  - name: rg
    when: { text: { keywords: ["самоисключ"] } }
    set: { priority: urgent, tags: [responsible_gaming], group: rg }
    stop: true
  - name: payments
    when: { text: { keywords: ["вывод", "депозит"] } }
    set: { priority: high, tags: [payments], group: payments }
    stop: true
  - name: bonus
    when: { text: { keywords: ["бонус"] } }
    set: { priority: normal, tags: [bonus], group: bonuses }
    stop: true
  - name: general
    set: { tags: [general] }
`;

/** The edit under review: bonus words win over payment words, and RG also alerts compliance. */
const EDITED = ROUTING
  .replace('  - name: payments\n', '  - name: bonus-first\n    when: { text: { keywords: ["бонус"] } }\n    set: { priority: normal, tags: [bonus], group: bonuses }\n    stop: true\n  - name: payments\n')
  .replace('    set: { priority: urgent, tags: [responsible_gaming], group: rg }\n', '    set: { priority: urgent, tags: [responsible_gaming], group: rg }\n    notify: [slack:compliance]\n');

const MESSAGES = [
  'вывод не пришёл уже два дня',
  'депозит с карты 4111 1111 1111 1111 не зачислен, а я уже всё проиграл, мне плохо',
  'хочу самоисключение на год',
  'где мой бонус за регистрацию',
  'бонус не начислили после депозита',
  'приложение не открывается',
];

describe('rules eval and rules diff against a running gateway\'s history', () => {
  // One story: the tests read the history the gateway kept and the re-filings in the fake Zendesk.
  let fakes: Started<{ zendesk: true }>;
  let launched: LaunchedGateway;
  let dir: string;
  let config: string;
  let env: Record<string, string>;
  const cli = (args: string[]) => runCli(args, env);

  beforeAll(async () => {
    fakes = await startFakes({ zendesk: true });
    env = fakeEnv(fakes);
    launched = await launchGateway(async (c) => {
      await writeFile(join(c.dir, 'routing.yaml'), ROUTING);
      return `
${yaml.base({ dataDir: c.dataDir, log: 'warn', delivery: '{ maxAttempts: 20, baseDelayMs: 100, maxDelayMs: 1000 }' })}
${yaml.zendesk('  groups: { rg: 11, payments: 12, bonuses: 13 }')}
channels:
${yaml.contact()}
include: [routing.yaml]
history: { keep: 100, days: 30, evaluate: { every: 2s, since: 30d } }
`;
    }, env, 'switchboard-eval-');
    ({ dir, configFile: config } = launched);
    const { gw } = launched;
    const zendesk = fakes.zendesk;
    for (const [i, message] of MESSAGES.entries()) {
      const r = await gw.post('/forms/contact', { email: `player${i}@example.com`, message });
      expect(r.status).toBe(200);
    }
    await waitFor('six tickets in Zendesk', () => zendesk.tickets.length === MESSAGES.length);
    // Agents re-file two tickets: the plea hidden in a payment complaint, and the bonus question.
    const byText = (start: string) => zendesk.tickets.find((t) => t.comments[0]!.body.startsWith(start))!;
    zendesk.retag(byText('депозит с карты').id, ['responsible_gaming', 'escalated']);
    zendesk.retag(byText('бонус не начислили').id, ['bonus']);
  }, 60_000);

  afterAll(async () => {
    await launched?.stop();
    await closeFakes(fakes);
  });

  it('the gateway refreshes the routing gauges from the helpdesk on the configured schedule', async () => {
    const metrics = await waitFor('the gauges after the re-filing', async () => {
      const text = await (await fetch(`${launched.gw.url}/metrics`)).text();
      return /switchboard_routing_accuracy 0\.66/.test(text) ? text : undefined;
    });
    expect(metrics).toMatch(/switchboard_routing_recall\{topic="responsible_gaming"\} 0\b/);
    expect(metrics).toMatch(/switchboard_routing_precision\{topic="payments"\} 0\.333/);
    expect(metrics).toMatch(/switchboard_routing_tickets_scored 6/);
    await launched.gw.stop(); // the embedded store is one process's: the commands below open it themselves
  });

  it('rules eval prints per-topic precision and recall, the confusions the re-filings imply, and the misses with card numbers masked', async () => {
    const r = await cli(['rules', 'eval', '--config', config, '--since', '30d']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('6 ticket(s) created by the gateway in the window; 6 found in the helpdesk.');
    expect(r.stdout).toContain('routing against the tags agents left: 66.7% right');
    expect(r.stdout).toMatch(/payments\s+33\.3%\s+100\.0%\s+1/);
    expect(r.stdout).toMatch(/responsible_gaming\s+100\.0%\s+50\.0%\s+2/);
    expect(r.stdout).toContain('most confused: bonus → payments ×1, responsible_gaming → payments ×1');
    expect(r.stdout).toMatch(/ticket \d+: responsible_gaming → payments \[payments\] "депозит с карты \*\*\*\* \*\*\*\* \*\*\*\* 1111 не зачислен/);
    expect(r.stdout).not.toContain('4111 1111');
  });

  it('rules diff shows exactly the decisions the edit changes', async () => {
    const edited = join(dir, 'review');
    await mkdir(edited, { recursive: true });
    await writeFile(join(edited, 'routing.yaml'), EDITED);
    const r = await cli(['rules', 'diff', '--config', config, '--rules', join(edited, 'routing.yaml'), '--last', '1000']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('6 message(s) replayed; 2 would be routed differently (priority 1, tags 1, group 1, notify 1).');
    expect(r.stdout).toMatch(/"бонус не начислили после депозита"\n {2}priority high {2}→ {2}normal\n {2}tags {5}payments {2}→ {2}bonus\n {2}group {4}payments {2}→ {2}bonuses\n {2}rules {4}-payments \+bonus-first/);
    expect(r.stdout).toMatch(/"хочу самоисключение на год"\n {2}notify {3}- {2}→ {2}slack:compliance/);

    const json = await cli(['rules', 'diff', '--config', config, '--rules', join(edited, 'routing.yaml'), '--json']);
    const changed = JSON.parse(json.stdout) as { text: string; changes: { field: string }[] }[];
    expect(changed.map((c) => c.text).sort()).toEqual(['бонус не начислили после депозита', 'хочу самоисключение на год']);

    const limited = await cli(['rules', 'diff', '--config', config, '--rules', join(edited, 'routing.yaml'), '--last', '1']);
    // Conversations are delivered in parallel, so which message was routed last varies.
    expect(limited.stdout).toMatch(/1 message\(s\) replayed; [01] would be routed differently/);
  });

  it('rules diff says which file an edited rules file would replace when its name matches none', async () => {
    const other = join(dir, 'new-rules.yaml');
    await writeFile(other, EDITED);
    const r = await cli(['rules', 'diff', '--config', config, '--rules', other]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('is a rules file; which included file does it replace? Name it with --replace');
    const named = await cli(['rules', 'diff', '--config', config, '--rules', other, '--replace', join(dir, 'routing.yaml')]);
    expect(named.code).toBe(0);
    expect(named.stdout).toContain('2 would be routed differently');
  });
});
