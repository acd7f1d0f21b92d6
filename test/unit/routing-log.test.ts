import { describe, expect, it } from 'vitest';
import { RoutingLog } from '../../src/core/history/routing-log.ts';
import { memoryKv as sharedMemoryKv } from '../../src/runtime/memory-kv.ts';
import type { Decision } from '../../src/core/rules/schema.ts';
import { playerMessage } from '../fixtures/message.ts';

function memoryKv() {
  const kv = sharedMemoryKv();
  return Object.assign(kv, { size: () => kv.map.size });
}

const decision: Decision = { tags: ['payments'], fields: {}, replies: [], notify: [], firedRules: ['payments'], priority: 'high' };
const DAY = 86_400_000;

async function all(log: RoutingLog, opts?: { limit?: number; since?: number }): Promise<string[]> {
  const out: string[] = [];
  for await (const r of log.newest(opts)) out.push(r.ticketId);
  return out;
}

describe('routing log', () => {
  it('keeps the last `keep` decisions, newest first, and no more keys than that', async () => {
    const kv = memoryKv();
    const log = new RoutingLog(kv, { keep: 3, days: 30 });
    for (let i = 1; i <= 5; i++) await log.append({ at: Date.now(), ticketId: String(i), created: true, isFirst: true, message: playerMessage(`m${i}`), decision });
    expect(await all(log)).toEqual(['5', '4', '3']);
    expect(await all(log, { limit: 2 })).toEqual(['5', '4']);
    expect(kv.size()).toBe(4); // three records and the pointer
  });

  it('keeps nothing older than `days`, and drops expired records as new ones come', async () => {
    const kv = memoryKv();
    let now = Date.parse('2026-03-01T00:00:00Z');
    const log = new RoutingLog(kv, { keep: 100, days: 2, now: () => now });
    await log.append({ at: now, ticketId: 'old', created: true, isFirst: true, message: playerMessage('a'), decision });
    now += 3 * DAY;
    expect(await all(log)).toEqual([]);
    await log.append({ at: now, ticketId: 'new', created: true, isFirst: true, message: playerMessage('b'), decision });
    expect(await all(log)).toEqual(['new']);
    expect(kv.size()).toBe(2);
    expect(await all(log, { since: now + 1 })).toEqual([]);
  });

  it('serializes appends of one process: none is lost when many run at once', async () => {
    const log = new RoutingLog(memoryKv(), { keep: 50, days: 30 });
    await Promise.all(Array.from({ length: 20 }, (_, i) => log.append({ at: Date.now(), ticketId: String(i), created: true, isFirst: true, message: playerMessage('x'), decision })));
    expect((await all(log)).sort()).toEqual(Array.from({ length: 20 }, (_, i) => String(i)).sort());
  });

  it('writes the appends that wait for one another as a group, in order, over a store with round trips', async () => {
    const kv = memoryKv();
    let pointerReads = 0;
    const slow = {
      ...kv,
      get: async (key: string) => {
        if (key === 'routing-log:pointer') pointerReads++;
        await new Promise((r) => setTimeout(r, 2));
        return kv.get(key);
      },
      set: async (key: string, value: string) => {
        await new Promise((r) => setTimeout(r, 2));
        return kv.set(key, value);
      },
    };
    const log = new RoutingLog(slow, { keep: 5, days: 30 });
    await Promise.all(Array.from({ length: 12 }, (_, i) => log.append({ at: Date.now(), ticketId: String(i), created: true, isFirst: true, message: playerMessage('x'), decision })));
    expect(await all(log)).toEqual(['11', '10', '9', '8', '7']);
    expect(pointerReads).toBeLessThan(12);
    expect(kv.size()).toBe(6);
  });

  it('a group is two round trips: the pointer read, then its records and the pointer sent together (records first)', async () => {
    const kv = memoryKv();
    const sent: string[][] = [];
    let batch: string[] | undefined;
    // A store whose calls of one turn share a round trip (as ioredis auto-pipelines them), in the order they were sent.
    const trip = (what: string) => {
      if (!batch) {
        const b = (batch = []);
        sent.push(b);
        queueMicrotask(() => (batch = undefined));
      }
      batch.push(what);
      return new Promise((r) => setTimeout(r, 1));
    };
    const counted = {
      ...kv,
      get: async (key: string) => (await trip(`get ${key}`), kv.get(key)),
      set: async (key: string, value: string) => (await trip(`set ${key}`), kv.set(key, value)),
      delete: async (key: string) => (await trip(`delete ${key}`), kv.delete(key)),
    };
    const log = new RoutingLog(counted, { keep: 10, days: 30 });
    await log.append({ at: Date.now(), ticketId: '1', created: true, isFirst: true, message: playerMessage('x'), decision });
    expect(sent).toEqual([['get routing-log:pointer'], ['set routing-log:0', 'set routing-log:pointer']]);
    expect(await all(log)).toEqual(['1']);
  });

  it('over a store that appends in one atomic step (Redis), the appends of one event-loop turn are one step, none larger than the ring', async () => {
    const kv = memoryKv();
    const steps: string[][] = [];
    // As the Redis script does it, atomically: the values at the head, the pointer after them.
    let last: Promise<void> = Promise.resolve();
    const step = async (name: string, values: string[], keep: number) => {
      steps.push(values.map((v) => (JSON.parse(v) as { ticketId: string }).ticketId));
      const p = JSON.parse((await kv.get(`${name}:pointer`)) ?? '{"head":0,"tail":0}') as { head: number; tail: number };
      for (const v of values) await kv.set(`${name}:${p.head++ % keep}`, v);
      await kv.set(`${name}:pointer`, JSON.stringify({ head: p.head, tail: Math.max(p.tail, p.head - keep) }));
    };
    const ring = Object.assign(kv, {
      appendToRing: (name: string, values: string[], keep: number) => (last = last.then(() => step(name, values, keep))),
    });
    const log = new RoutingLog(ring, { keep: 4, days: 30 });
    const append = (id: string) => log.append({ at: Date.now(), ticketId: id, created: true, isFirst: true, message: playerMessage(id), decision });
    await Promise.all(['1', '2', '3', '4', '5', '6'].map(append));
    expect(steps).toEqual([['1', '2', '3', '4'], ['5', '6']]);
    await append('7');
    expect(steps).toHaveLength(3);
    expect(await all(log)).toEqual(['7', '6', '5', '4']);
  });

  it('keeps the message masked: card numbers, emails and phones, no raw payload', async () => {
    const kv = memoryKv();
    const log = new RoutingLog(kv, { keep: 10, days: 30 });
    const message = playerMessage('карта 4111 1111 1111 1111, пишите на ivan.petrov@example.com или +998 90 123 45 67', {
      raw: { secret: 'the channel payload' },
      sender: { externalId: '1', email: 'ivan.petrov@example.com', phone: '+998901234567' },
    });
    await log.append({ at: Date.now(), ticketId: '1', created: true, isFirst: true, message, decision });
    const stored = [...(await Promise.all([kv.get('routing-log:0')]))][0]!;
    expect(stored).not.toContain('4111 1111 1111 1111');
    expect(stored).not.toContain('ivan.petrov@');
    expect(stored).not.toContain('123 45 67');
    expect(stored).not.toContain('the channel payload');
    expect(stored).toContain('**** **** **** 1111');
  });

  it('keeps nothing when keep is 0', async () => {
    const kv = memoryKv();
    await new RoutingLog(kv, { keep: 0, days: 30 }).append({ at: Date.now(), ticketId: '1', created: true, isFirst: true, message: playerMessage('x'), decision });
    expect(kv.size()).toBe(0);
  });
});
