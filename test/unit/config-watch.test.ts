import { rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../src/config/load.ts';
import { watchRules, type RulesUpdate } from '../../src/config/watch.ts';
import type { ConfigError } from '../../src/config/issues.ts';
import { writeTree } from '../fixtures/config/files.ts';
import { fakeRegistry } from '../fixtures/config/registry.ts';

const MAIN = `server: { port: 8080 }
helpdesk: { kind: jsonl }
include: [rules/extra.yaml]
rules:
  - name: local
    set: { tags: [local] }
`;
const EXTRA = `rules:
  - name: withdrawal
    when: { text: { matches: [withdraw] } }
    set: { priority: high }
replies:
  ack: { en: "On it." }
`;

const closers: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of closers.splice(0).reverse()) await c();
});

/** A watched config in a temp dir, with every callback recorded. */
async function watched() {
  const tree = await writeTree({ 'config.yaml': MAIN, 'rules/extra.yaml': EXTRA });
  closers.push(tree.cleanup);
  const loaded = await loadConfig(path.join(tree.dir, 'config.yaml'), fakeRegistry, {});
  const changes: RulesUpdate[] = [];
  const errors: ConfigError[] = [];
  const restarts: string[][] = [];
  const watcher = watchRules(loaded, fakeRegistry, (n) => changes.push(n), (e) => errors.push(e), {
    debounceMs: 50,
    env: {},
    onRestartNeeded: (s) => restarts.push(s),
  });
  closers.push(() => watcher.close());
  const file = (name: string) => path.join(tree.dir, name);
  return { changes, errors, restarts, file };
}

const until = (check: () => void) => vi.waitFor(check, { timeout: 10_000, interval: 20 });

describe('watchRules', () => {
  it('a valid edit of an included rules file calls onChange with the new rules and replies', async () => {
    const w = await watched();
    await writeFile(w.file('rules/extra.yaml'), EXTRA.replace('priority: high', 'priority: urgent').replace('On it.', 'Right away.'));
    await until(() => expect(w.changes).toHaveLength(1));
    const [next] = w.changes;
    expect(next?.rules.map((r) => [r.name, r.set?.priority])).toEqual([['local', undefined], ['withdrawal', 'urgent']]);
    expect(next?.replies).toEqual({ ack: { en: 'Right away.' } });
    expect(w.errors).toEqual([]);
    expect(w.restarts).toEqual([]);
  });

  it('a broken edit calls onError and not onChange; fixing it reloads', async () => {
    const w = await watched();
    await writeFile(w.file('rules/extra.yaml'), EXTRA.replace('priority: high', 'priority: hgh'));
    await until(() => expect(w.errors).toHaveLength(1));
    expect(w.changes).toEqual([]);
    expect(w.errors[0]?.message).toMatch(/rules\/extra\.yaml:4:\d+ rules\[0\]\.set\.priority: .*did you mean 'high'\?/);

    await writeFile(w.file('rules/extra.yaml'), EXTRA.replace('priority: high', 'priority: low'));
    await until(() => expect(w.changes).toHaveLength(1));
    expect(w.changes[0]?.rules[1]?.set?.priority).toBe('low');
  });

  it('follows an editor that saves by renaming a new file over the old one', async () => {
    const w = await watched();
    const temp = w.file('rules/.extra.yaml.tmp');
    await writeFile(temp, EXTRA.replace('withdrawal', 'payout'));
    await rename(temp, w.file('rules/extra.yaml'));
    await until(() => expect(w.changes).toHaveLength(1));
    expect(w.changes[0]?.rules.map((r) => r.name)).toEqual(['local', 'payout']);

    // The replaced file is still watched.
    await writeFile(w.file('rules/extra.yaml'), EXTRA.replace('withdrawal', 'cashout'));
    await until(() => expect(w.changes).toHaveLength(2));
    expect(w.changes[1]?.rules.map((r) => r.name)).toEqual(['local', 'cashout']);
  });

  it('watches a newly included file even while it is broken, and loads it once fixed', async () => {
    const w = await watched();
    await writeFile(w.file('rules/new.yaml'), 'rules:\n  - name: vip\n    set: { priority: urgnt }\n');
    await writeFile(w.file('config.yaml'), MAIN.replace('[rules/extra.yaml]', '[rules/extra.yaml, rules/new.yaml]'));
    await until(() => expect(w.errors).toHaveLength(1));
    expect(w.errors[0]?.message).toMatch(/rules\/new\.yaml:3:\d+ rules\[0\]\.set\.priority/);

    await writeFile(w.file('rules/new.yaml'), 'rules:\n  - name: vip\n    set: { priority: urgent }\n');
    await until(() => expect(w.changes).toHaveLength(1));
    expect(w.changes[0]?.rules.map((r) => r.name)).toEqual(['local', 'withdrawal', 'vip']);
  });

  it('applies rules from the main file and reports other sections as needing a restart', async () => {
    const w = await watched();
    await writeFile(w.file('config.yaml'), MAIN.replace('port: 8080', 'port: 9090').replace('tags: [local]', 'tags: [edited]'));
    await until(() => expect(w.changes).toHaveLength(1));
    expect(w.changes[0]?.rules[0]?.set?.tags).toEqual(['edited']);
    expect(w.changes[0]?.loaded.config.server.port).toBe(9090);
    expect(w.restarts).toEqual([['server']]);
  });
});
