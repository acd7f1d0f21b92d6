import { afterEach, describe, expect, it, vi } from 'vitest';
import { ticketWatch } from '../../src/kit/ticket-watch.ts';
import { memoryKv } from '../../src/runtime/memory-kv.ts';

describe('ticketWatch: when a follow-up may skip reading its ticket', () => {
  afterEach(() => vi.useRealTimers());

  it('a ticket seen open is known open until the window passes', async () => {
    vi.useFakeTimers({ now: 1_000_000, toFake: ['Date'] });
    const watch = ticketWatch(memoryKv(), 'freshdesk', 600);
    expect(await watch.knownOpen('42')).toBe(false);
    await watch.sawOpen('42');
    expect(await watch.knownOpen('42')).toBe(true);
    expect(await watch.knownOpen('43')).toBe(false);
    vi.setSystemTime(1_000_000 + 599_000);
    expect(await watch.knownOpen('42')).toBe(true);
    vi.setSystemTime(1_000_000 + 600_000);
    expect(await watch.knownOpen('42')).toBe(false);
  });

  it('an agent event for the ticket makes the next follow-up read it', async () => {
    const watch = ticketWatch(memoryKv(), 'usedesk', 600);
    await watch.sawOpen('42');
    await watch.changed('42');
    expect(await watch.knownOpen('42')).toBe(false);
  });

  it('a window of 0 always reads first', async () => {
    const watch = ticketWatch(memoryKv(), 'usedesk', 0);
    await watch.sawOpen('42');
    expect(await watch.knownOpen('42')).toBe(false);
  });

  it('helpdesks sharing one store do not see each other’s tickets', async () => {
    const kv = memoryKv();
    await ticketWatch(kv, 'freshdesk', 600).sawOpen('42');
    expect(await ticketWatch(kv, 'usedesk', 600).knownOpen('42')).toBe(false);
  });
});
