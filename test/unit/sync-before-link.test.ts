import { beforeEach, describe, expect, it } from 'vitest';
import { NotYet } from '../../src/core/errors.ts';
import type { Job } from '../../src/core/jobs.ts';
import { LINKING_MS, ticketsBeingLinked } from '../../src/core/linking.ts';
import { createPipeline, syncJob, type Pipeline } from '../../src/core/pipeline.ts';
import { compileRules } from '../../src/core/rules/engine.ts';
import { memoryKv } from '../../src/runtime/memory-kv.ts';
import type { FakeZendesk } from '../fakes/zendesk-server.ts';
import { silent } from '../fixtures/log.ts';
import { memoryLinks, quietChannel, telegramText } from '../fixtures/pipeline.ts';
import { withFakeZendesk } from '../fixtures/zendesk.ts';

/**
 * The delivery that makes a ticket marks it as being linked as soon as the helpdesk answers (the
 * link itself is written when the runtime records the delivery). An agent's event on a ticket
 * with no link waits (NotYet) only while that mark is there; a ticket the gateway never made, or
 * one whose delivery died unrecorded (its mark expired), is ignored at once. A follow-up on a
 * linked ticket writes no mark. (Both runtimes, with a real hold: test/runtime/link-race.test.ts.)
 */

describe('an agent event on a ticket no conversation is linked to yet', () => {
  const zendesk = withFakeZendesk('zd-token-sync-0123');
  let zd: FakeZendesk;
  let pipeline: Pipeline;
  let links: ReturnType<typeof memoryLinks>;
  let clock: number;
  let marks: string[];
  let n = 0;
  const ctx = () => ({ attempt: 1, reconcile: false, idempotencyKey: `job-${++n}` });
  const sync = (ticketId: string, createdAt = clock): Job => ({ ...syncJob(ticketId, `sync-${++n}`), id: `j${n}`, attempts: 0, createdAt, ambiguous: false });
  const inbound = (i: number, text: string): Job => {
    const m = telegramText('01HZSYNC', i, text);
    return { id: `j-in-${i}`, dedupeKey: m.dedupeKey, lane: 'l', target: 'helpdesk', payload: { kind: 'inbound', message: m }, attempts: 0, createdAt: clock, ambiguous: false };
  };

  beforeEach(async () => {
    zd = zendesk.zd;
    links = memoryLinks();
    clock = Date.now();
    marks = [];
    const kv = memoryKv({ now: () => clock });
    // Which kv writes are marks: a follow-up must not pay one.
    const counted = { ...kv, set: async (k: string, v: string, o?: Parameters<typeof kv.set>[2]) => (k.startsWith('linking:') && marks.push(k), kv.set(k, v, o)) };
    pipeline = createPipeline({
      helpdesk: await zendesk.connector(),
      channels: new Map([['telegram', { kind: 'telegram', medium: 'messenger' as const, instance: quietChannel }]]),
      links,
      rules: () => ({ compiled: compileRules([]), replies: {} }),
      timezone: 'UTC',
      log: silent,
      linking: ticketsBeingLinked(counted, () => clock),
    });
  });

  it('waits while the delivery that made the ticket is not recorded; once it is, the reply goes to the customer', async () => {
    const delivered = await pipeline.run([inbound(1, 'Where is my withdrawal?')], ctx());
    const ticket = zd.tickets[0]!;
    expect(marks).toEqual([`linking:${ticket.id}`]);
    zd.addAgentComment(ticket.id, 'Your withdrawal went out today.');
    const event = sync(String(ticket.id));
    const wait = await pipeline.run([event], ctx()).catch((err: unknown) => err);
    expect(wait).toBeInstanceOf(NotYet);
    // Looked at again soon, not after seconds.
    expect((wait as NotYet).until - clock).toBeLessThanOrEqual(1000);

    await links.put(delivered!.link!);
    const outcome = await pipeline.run([event], ctx());
    expect(outcome?.enqueue?.map((j) => j.payload.kind)).toEqual(['reply']);
  });

  it('is ignored at once for a ticket the gateway never made', async () => {
    const foreign = zd.seedTicket({ description: 'An email straight to the helpdesk', tags: [] });
    zd.addAgentComment(foreign.id, 'Answered by email.');
    await expect(pipeline.run([sync(String(foreign.id))], ctx())).resolves.toBeUndefined();
  });

  it('is ignored once the mark of a delivery that died unrecorded has expired', async () => {
    await pipeline.run([inbound(2, 'Bonus not credited')], ctx());
    const ticketId = String(zd.tickets[0]!.id);
    await expect(pipeline.run([sync(ticketId)], ctx())).rejects.toBeInstanceOf(NotYet);
    clock += LINKING_MS;
    await expect(pipeline.run([sync(ticketId)], ctx())).resolves.toBeUndefined();
  });

  it('a follow-up on the linked ticket writes no mark; one that moves to a new ticket (the old one closed) does', async () => {
    const first = await pipeline.run([inbound(3, 'My deposit is missing')], ctx());
    await links.put(first!.link!);
    const again = await pipeline.run([inbound(4, 'Any news?')], ctx());
    await links.put(again!.link!);
    expect(marks).toEqual([`linking:${first!.link!.ticketId}`]);

    zd.closeTicket(Number(first!.link!.ticketId));
    const moved = await pipeline.run([inbound(5, 'Still nothing')], ctx());
    expect(moved!.link!.ticketId).not.toBe(first!.link!.ticketId);
    expect(marks).toEqual([`linking:${first!.link!.ticketId}`, `linking:${moved!.link!.ticketId}`]);
  });
});
