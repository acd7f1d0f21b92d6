import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registry } from '../../connectors/registry.ts';
import { loadConfig } from '../../src/config/load.ts';
import { createHistoryReader } from '../../src/gateway.ts';
import { readHelpdeskExamples } from '../../src/cli/training-data.ts';
import { createLogger } from '../../src/runtime/log.ts';
import { memoryKv } from '../../src/runtime/memory-kv.ts';
import { startFakeFreshdesk, type FakeFreshdesk } from '../fakes/freshdesk-server.ts';
import { startFakeUsedesk, type FakeUsedesk } from '../fakes/usedesk-server.ts';
import { startFakeZendesk, type FakeZendesk } from '../fakes/zendesk-server.ts';
import { REPO, runCli, tempDir, waitFor } from './harness.ts';
import { withGateway, yaml } from '../fixtures/gateway.ts';

/**
 * `switchboard model train` end to end: from labeled files, and from a local fake helpdesk
 * seeded with tickets agents tagged; the model file is written, shown by `rules test`, used by
 * a rule in a running gateway, and reloaded there when a new training run replaces it.
 */

const SMALL_YAML = `${REPO}test/fixtures/model/small.yaml`;
const SMALL_JSONL = `${REPO}test/fixtures/model/small.jsonl`;

const RULES = `
rules:
  - name: rg-by-model
    when: { model: { topic: responsible_gaming, atLeast: 0.5 } }
    set: { priority: urgent, tags: [responsible_gaming] }
    stop: true
  - name: payments-by-model
    when: { model: { topic: payments, atLeast: 0.5 } }
    set: { priority: high, tags: [payments] }
    stop: true
`;

/** The store and the dry-run helpdesk's journal in `dir`; the model file `model` (relative to the config file, or absolute). */
function jsonlConfig(dir: string, model = 'model.json'): string {
  return `
${yaml.base({ dataDir: `${dir}/data`, log: 'warn' })}
helpdesk: { kind: jsonl, path: ${dir}/tickets.jsonl }
channels:
${yaml.contact()}
model: { path: ${model} }
${RULES}`;
}

/** The tickets the dry-run helpdesk was asked to create (lines of its journal). */
interface JsonlTicket { op: string; tags: string[]; priority: string | null; notes: string[] }

async function tickets(file: string): Promise<JsonlTicket[]> {
  if (!existsSync(file)) return [];
  return (await readFile(file, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as JsonlTicket).filter((t) => t.op === 'createTicket');
}

describe('model train from labeled files', () => {
  // The CLI's config and the model it trains live in `dir`; the gateway (last test) reads that model.
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let config: string;
  beforeAll(async () => {
    dir = await tempDir('switchboard-model-');
    config = join(dir.path, 'switchboard.yaml');
    await writeFile(config, jsonlConfig(dir.path));
  });
  afterAll(async () => dir.remove());
  const gateway = withGateway({ fakes: {}, start: 'manual', config: (c) => jsonlConfig(c.dir, join(dir.path, 'model.json')) });

  it('prints held-out precision and recall per topic, then writes the model file next to the config', async () => {
    const r = await runCli(['model', 'train', '--config', config, '--from', SMALL_YAML, SMALL_JSONL, '--held-out', '0.25']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`read ${SMALL_YAML}: 16 messages`);
    expect(r.stdout).toContain(`read ${SMALL_JSONL}: 12 messages`);
    expect(r.stdout).toMatch(/held out \(8 messages the check model did not see\): \d+\.\d% right/);
    expect(r.stdout).toMatch(/responsible_gaming\s+\d+\.\d%\s+\d+\.\d%\s+2/);
    expect(r.stdout.indexOf('held out')).toBeLessThan(r.stdout.indexOf('wrote'));
    const file = JSON.parse(await readFile(join(dir.path, 'model.json'), 'utf8')) as { format: string; topics: string[]; trained: { examples: number; heldOut: Record<string, unknown> } };
    expect(file.format).toBe('switchboard.text-model');
    expect(file.topics).toEqual(['kyc', 'other', 'payments', 'responsible_gaming']);
    expect(file.trained.examples).toBe(28);
    expect(Object.keys(file.trained.heldOut).sort()).toEqual(['kyc', 'other', 'payments', 'responsible_gaming']);
  });

  it('rules test shows the scores and which rule read them', async () => {
    const r = await runCli(['rules', 'test', '--config', config, '--channel', 'contact', '--text', 'не могу остановиться, помогите закрыть доступ']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/tags: +responsible_gaming/);
    expect(r.stdout).toMatch(/model: +responsible_gaming 0\.\d\d, /);
    expect(r.stdout).toContain('read by: rg-by-model (fired)');
    expect(r.stdout).toMatch(/FIRED rg-by-model: model responsible_gaming 0\.\d\d ≥ 0\.5/);
  });

  it('refuses bad input with a message naming it', async () => {
    const none = await runCli(['model', 'train', '--config', config]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--from FILE… and/or --from-helpdesk');
    const bad = join(dir.path, 'bad.jsonl');
    await writeFile(bad, '{"text": "ok", "topic": "kyc"}\n{"text": "", "topic": "kyc"}\n');
    const r = await runCli(['model', 'train', '--config', config, '--from', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bad}:2: text: empty text`);
    const one = await runCli(['model', 'train', '--config', config, '--from', SMALL_JSONL, '--exclude', SMALL_JSONL, SMALL_YAML]);
    expect(one.code).toBe(2);
    expect(one.stderr).toContain('at least two topics');
  });

  it('a running gateway routes with the model, notes the scores on the ticket, and reloads a retrained model', async () => {
    const gw = await gateway.start(undefined);
    const ticketsFile = join(gateway.dir, 'tickets.jsonl');
    const sent = await gw.post('/forms/contact', { email: 'p1@example.com', message: 'не могу остановиться играть, закройте доступ' });
    expect(sent.status).toBe(200);
    const first = await waitFor('the first ticket', async () => (await tickets(ticketsFile))[0]);
    expect(first.tags).toEqual(['responsible_gaming', 'rule_rg-by-model']);
    expect(first.priority).toBe('urgent');
    expect(first.notes.join('\n')).toMatch(/Text model: responsible_gaming 0\.\d\d.*\(used by rule rg-by-model\)/);

    // A new training run where the same words mean payments replaces the file; the gateway reloads it.
    const swapped = join(dir.path, 'swapped.yaml');
    const text = await readFile(SMALL_YAML, 'utf8');
    await writeFile(swapped, text.replace(/topic: responsible_gaming/g, 'topic: TMP').replace(/topic: payments/g, 'topic: responsible_gaming').replace(/topic: TMP/g, 'topic: payments'));
    const r = await runCli(['model', 'train', '--config', config, '--from', swapped, SMALL_JSONL]);
    expect(r.code).toBe(0);
    let n = 0;
    const retrained = await waitFor('a ticket routed by the reloaded model', async () => {
      n++;
      await gw.post('/forms/contact', { email: `p${n + 1}@example.com`, message: 'не могу остановиться играть, закройте доступ' });
      const all = await waitFor('its ticket', async () => {
        const list = await tickets(ticketsFile);
        return list.length >= n + 1 ? list : undefined;
      });
      return all.at(-1)!.tags.includes('payments') ? all.at(-1) : undefined;
    });
    expect(retrained.tags).toEqual(['payments', 'rule_payments-by-model']);
  });
});

describe('model train from the helpdesk', () => {
  const TOPICS = `topics:
  responsible_gaming: [self_exclusion, rg]
  payments: [withdrawal, deposit]
  kyc: [verification]`;
  const OLD = new Date(Date.now() - 400 * 86_400_000).toISOString();
  /** What agents left: the customer's words and their final tags (one with a card number, one too old to count). */
  const HISTORY: { text: string; tags: string[]; createdAt?: string }[] = [
    ...['хочу самоисключение на полгода', 'не могу остановиться играть, помогите', 'i cant stop gambling please block me', "o'zimni to'xtata olmayapman"]
      .map((text) => ({ text, tags: ['self_exclusion', 'vip'] })),
    ...['вывод не пришёл уже три дня', 'withdrawal pending for a week', 'карта 4111 1111 1111 1111 а денег нет', 'pul yechib bo\'lmayapti']
      .map((text) => ({ text, tags: ['withdrawal'] })),
    ...['какие документы нужны для верификации', 'selfie rejected again', 'паспорт не принимают'].map((text) => ({ text, tags: ['verification'] })),
    ...['приложение не открывается', 'как поменять язык', 'app crashes on start'].map((text) => ({ text, tags: ['general'] })),
    { text: 'очень старый тикет про бонус', tags: ['withdrawal'], createdAt: OLD },
  ];

  let zendesk: FakeZendesk;
  let freshdesk: FakeFreshdesk;
  let usedesk: FakeUsedesk;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  beforeAll(async () => {
    [zendesk, freshdesk, usedesk, dir] = await Promise.all([startFakeZendesk(), startFakeFreshdesk(), startFakeUsedesk(), tempDir('switchboard-model-hd-')]);
    for (const h of HISTORY) {
      zendesk.seedTicket({ description: h.text, tags: h.tags, createdAt: h.createdAt ?? new Date(Date.now() - 5 * 86_400_000).toISOString() });
      freshdesk.seedTicket({ description: h.text, tags: h.tags, createdAt: h.createdAt });
      usedesk.seedTicket({ message: h.text, tags: h.tags, createdAt: h.createdAt?.replace('T', ' ').replace(/\.\d+Z$/, '') });
    }
    zendesk.exportPageSize = 5;
  });
  afterAll(async () => {
    await Promise.all([zendesk.close(), freshdesk.close(), usedesk.close()]);
    await dir.remove();
  });

  const helpdesks = () => ({
    zendesk: `helpdesk: { kind: zendesk, baseUrl: ${zendesk.url}, email: api@example.com, apiToken: fake-zendesk-token }`,
    freshdesk: `helpdesk: { kind: freshdesk, baseUrl: ${freshdesk.url}, apiKey: fake-freshdesk-key }`,
    usedesk: `helpdesk: { kind: usedesk, baseUrl: ${usedesk.url}, apiToken: fake-usedesk-token, channelId: ${usedesk.apiChannelId} }`,
  });

  async function configFor(kind: 'zendesk' | 'freshdesk' | 'usedesk'): Promise<string> {
    const file = join(dir.path, `${kind}.yaml`);
    await writeFile(file, `store: { kind: embedded, path: ${dir.path}/data-${kind} }\n${helpdesks()[kind]}\nmodel: { path: ${kind}-model.json }\n${TOPICS}\n${RULES}`);
    return file;
  }

  it.each(['zendesk', 'freshdesk', 'usedesk'] as const)('%s: reads the handled tickets since --since, maps their tags to topics, prints held-out scores and writes the model', async (kind) => {
    const config = await configFor(kind);
    if (kind === 'zendesk') zendesk.rateLimitExports = 1; // the export's 10-a-minute limit: waited out, not fatal
    const r = await runCli(['model', 'train', '--config', config, '--from-helpdesk', '--since', '180d']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`read 14 tickets from ${kind} (0 without text left out): payments 4, responsible_gaming 4, kyc 3, other 3`);
    expect(r.stdout).toMatch(/tickets read/);
    expect(r.stdout).toMatch(/held out \(\d+ messages/);
    const file = JSON.parse(await readFile(join(dir.path, `${kind}-model.json`), 'utf8')) as { topics: string[]; trained: { examples: number; sources: string[] } };
    expect(file.topics).toEqual(['kyc', 'other', 'payments', 'responsible_gaming']);
    expect(file.trained.examples).toBe(14);
    expect(file.trained.sources).toEqual([`${kind} since 180d`]);
  });

  it('uses each helpdesk\'s list API the documented way: Zendesk\'s cursor export, Freshdesk\'s list with descriptions, Usedesk\'s list then each ticket', () => {
    const exports = zendesk.requests.filter((q) => q.path.startsWith('/api/v2/incremental/tickets/cursor.json'));
    expect(exports[0]!.path).toMatch(/start_time=\d+/);
    expect(exports.some((q) => q.path.includes('cursor=') && !q.path.includes('start_time'))).toBe(true);
    const lists = freshdesk.requests.filter((q) => q.method === 'GET' && q.path.startsWith('/api/v2/tickets?'));
    expect(lists[0]!.path).toContain('include=description');
    expect(lists[0]!.path).toContain('updated_since=');
    expect(usedesk.requests.some((q) => q.method === '/tickets')).toBe(true);
    expect(usedesk.requests.filter((q) => q.method === '/ticket').length).toBe(14);
  });

  it('masks card numbers in the training text', async () => {
    const loaded = await loadConfig(await configFor('freshdesk'), registry, {});
    const log = createLogger({ level: 'silent' });
    const reader = createHistoryReader(registry, loaded.config, { log, kv: memoryKv(), dataDir: dir.path })!;
    const got = await readHelpdeskExamples(reader, { since: new Date(Date.now() - 180 * 86_400_000), topics: loaded.config.topics });
    const card = got.examples.find((e) => e.text.includes('а денег нет'));
    expect(card?.text).toBe('карта **** **** **** 1111 а денег нет');
    expect(JSON.stringify(got.examples)).not.toContain('4111 1111 1111 1111');
  });
});
