import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, loadConfig } from '../../src/config/load.ts';
import { DEFAULT_RETENTION } from '../../src/core/retention.ts';
import { SentParts } from '../../src/kit/outbound/sent-parts.ts';
import { CallTracker } from '../../src/kit/telephony/call-tracker.ts';
import { memoryKv } from '../../src/runtime/memory-kv.ts';
import { writeTree } from '../fixtures/config/files.ts';
import { fakeRegistry } from '../fixtures/config/registry.ts';
import { silent } from '../fixtures/log.ts';

/** How long working records are kept: the config section, and the kit's records saying what they are. */

const DAY = 86_400_000;
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

async function load(yaml: string) {
  const tree = await writeTree({ 'config.yaml': `helpdesk: { kind: jsonl }\n${yaml}` });
  cleanups.push(tree.cleanup);
  return loadConfig(path.join(tree.dir, 'config.yaml'), fakeRegistry, {});
}

describe('retention: the config section', () => {
  it('defaults to the documented table, and takes durations per kind', async () => {
    expect((await load('')).config.retention).toEqual(DEFAULT_RETENTION);
    const { config } = await load('retention: { sent: 30d, calls: 12h }\n');
    expect(config.retention).toEqual({ ...DEFAULT_RETENTION, sent: 30 * DAY, calls: 12 * 3_600_000 });
  });

  it('refuses what is not a duration, and a kind it does not know, naming the key', async () => {
    const err = await load('retention: { threads: forever, sentt: 1d }\n').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    const paths = (err as ConfigError).issues.map((i) => i.path);
    expect(paths).toEqual(expect.arrayContaining(['retention.threads', 'retention.sentt']));
  });
});

describe("retention: the kit's records say what they are", () => {
  it("a reply's sent parts are kept for `sent`, then forgotten", async () => {
    let now = Date.UTC(2026, 0, 1);
    const kv = memoryKv({ now: () => now });
    const parts = await SentParts.open(kv, 'sent:r-1', z.number());
    await parts.once(0, ['Здравствуйте'], async () => 101);
    now += DEFAULT_RETENTION.sent - 1;
    expect(await kv.get('sent:r-1')).toBeDefined();
    now += 1;
    expect(await kv.get('sent:r-1')).toBeUndefined();
    expect(kv.map.has('sent:r-1')).toBe(false);
  });

  it("a call's state is kept for `calls`", async () => {
    let now = Date.UTC(2026, 0, 1);
    const kv = memoryKv({ now: () => now });
    const calls = new CallTracker({ kv, accept: async (drafts) => drafts.map((d) => ({ id: 'x', dedupeKey: d.dedupeKey, duplicate: false })), log: silent, callLog: 'note' });
    await calls.handle('CA1', [{ at: new Date(now).toISOString(), type: 'ringing', direction: 'inbound', from: '+998901234567', to: '+998712000000' }]);
    expect(kv.map.size).toBe(1);
    now += DEFAULT_RETENTION.calls;
    expect(await kv.get([...kv.map.keys()][0]!)).toBeUndefined();
  });

  it('a window claim is forgotten a window after the last id it recorded', async () => {
    let now = 0;
    const kv = memoryKv({ now: () => now });
    expect(await kv.claimInWindow('autoreplies:a@x.test', 'r-1', 3, 3_600_000)).toBe(true);
    now += 3_600_000;
    expect(await kv.get('autoreplies:a@x.test')).toBeUndefined();
  });
});
