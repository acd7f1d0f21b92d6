import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { registry } from '../../connectors/registry.ts';

/**
 * What is written down next to the code and goes stale silently when a connector is added or
 * changed: the committed JSON Schemas, the docs pages, the README's list, the mapping table.
 */

const root = fileURLToPath(new URL('../../', import.meta.url));
const run = promisify(execFile);
const read = (path: string) => readFile(`${root}${path}`, 'utf8');

async function switchboard(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [`${root}bin/switchboard.js`, ...args], { cwd: root, maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

const kinds = {
  channels: registry.channels.map((d) => d.kind),
  helpdesks: registry.helpdesks.map((d) => d.kind),
  notifiers: (registry.notifiers ?? []).map((d) => d.kind),
};

describe('drift between the code and what is committed or written about it', () => {
  it('config/switchboard.schema.json is what `switchboard schema` prints (regenerate: npm run schema)', async () => {
    expect(await switchboard('schema')).toBe(await read('config/switchboard.schema.json'));
  });

  it('config/message.schema.json is what `switchboard schema --message` prints', async () => {
    expect(await switchboard('schema', '--message')).toBe(await read('config/message.schema.json'));
  });

  it('every registered channel, helpdesk and notifier kind has a docs page that shows its `kind:`', async () => {
    const pages = (await readdir(`${root}docs`)).filter((f) => f.endsWith('.md'));
    const texts = await Promise.all(pages.map((f) => read(`docs/${f}`)));
    const undocumented = [...kinds.channels, ...kinds.helpdesks, ...kinds.notifiers]
      .filter((kind) => !texts.some((t) => new RegExp(`kind: ${kind}(\\s|$)`, 'm').test(t)));
    expect(undocumented).toEqual([]);
  });

  it("every registered kind is in the README's table of channels, helpdesks and notifiers", async () => {
    const readme = await read('README.md');
    const header = readme.split('\n').findIndex((l) => l.startsWith('| channels (`connectors/channels/`)'));
    expect(header).toBeGreaterThanOrEqual(0);
    const cells = readme.split('\n')[header + 2]!.split('|').slice(1, 4);
    const listed = (cell: string) => [...cell.matchAll(/`([a-z0-9-]+)`/g)].map((m) => m[1]);
    expect({ channels: listed(cells[0]!), helpdesks: listed(cells[1]!), notifiers: listed(cells[2]!) })
      .toEqual({ channels: expect.arrayContaining(kinds.channels), helpdesks: expect.arrayContaining(kinds.helpdesks), notifiers: expect.arrayContaining(kinds.notifiers) });
  });

  it('docs/helpdesk-mapping.md lists every channel kind under the medium its definition declares', async () => {
    const doc = await read('docs/helpdesk-mapping.md');
    const rows = doc.split('\n').filter((l) => /^\| (messenger|phone|email|form|api) \|/.test(l));
    const byMedium = new Map(rows.map((r) => {
      const [medium, channelKinds] = r.split('|').slice(1, 3).map((c) => c.trim());
      return [medium!, channelKinds!.split(',').map((k) => k.trim())];
    }));
    for (const def of registry.channels) expect(byMedium.get(def.medium), `${def.kind} is a ${def.medium}`).toContain(def.kind);
  });

  it('every registered channel kind runs the channel contract (test/contract/channels/<kind>.test.ts)', async () => {
    const suites = await readdir(`${root}test/contract/channels`);
    expect(kinds.channels.filter((kind) => !suites.includes(`${kind}.test.ts`))).toEqual([]);
  });

  it('every record connectors and the core write to the key-value store says how long it is kept, or why it is kept until deleted', async () => {
    // Kept until deleted on purpose: bounded, or one per customer.
    const keptUntilDeleted: [file: string, line: string][] = [
      ['connectors/channels/email/cursor.ts', ''], // one cursor per mail folder
      ['connectors/channels/whatsapp-web/inbox.ts', 'WATERMARK'], // one per linked account
      ['src/core/history/routing-log.ts', ''], // a ring of `history.keep` records
      ['connectors/helpdesks/usedesk/requester.ts', 'client-of'], // the Usedesk client made for a sender
    ];
    const files = (await readdir(root, { recursive: true })).filter((f) => /^(connectors|src\/(kit|core))\/.*\.ts$/.test(f));
    const unbounded: string[] = [];
    for (const file of files) {
      for (const line of (await read(file)).split('\n')) {
        if (!/\bkv\.set\(/.test(line) || /keep: '|ttlMs|RATINGS/.test(line)) continue;
        if (!keptUntilDeleted.some(([f, l]) => file === f && line.includes(l))) unbounded.push(`${file}: ${line.trim()}`);
      }
    }
    expect(unbounded).toEqual([]);
  });

  it('the mapping tables exist once: no other page repeats a table of docs/helpdesk-mapping.md', async () => {
    const headers = (await read('docs/helpdesk-mapping.md')).split('\n').filter((l, i, all) => l.startsWith('|') && /^\|[-| ]+\|$/.test(all[i + 1] ?? ''));
    expect(headers.length).toBeGreaterThan(3);
    const others = ['README.md', ...(await readdir(`${root}docs`)).filter((f) => f.endsWith('.md') && f !== 'helpdesk-mapping.md').map((f) => `docs/${f}`)];
    const repeated: string[] = [];
    for (const path of others) {
      const lines = new Set((await read(path)).split('\n'));
      for (const h of headers) if (lines.has(h)) repeated.push(`${path}: ${h}`);
    }
    expect(repeated).toEqual([]);
  });
});
