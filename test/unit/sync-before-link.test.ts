import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NotYet } from '../../src/core/errors.ts';
import type { Job } from '../../src/core/jobs.ts';
import { createPipeline, syncJob, type Pipeline } from '../../src/core/pipeline.ts';
import { compileRules } from '../../src/core/rules/engine.ts';
import { definition as zendesk, ZendeskOptions } from '../../connectors/helpdesks/zendesk/index.ts';
import { startFakeZendesk, type FakeZendesk } from '../fakes/zendesk-server.ts';
import { memoryKv } from '../../src/runtime/memory-kv.ts';
import { silent } from '../fixtures/log.ts';
import { memoryLinks, quietChannel, telegramText } from '../fixtures/pipeline.ts';

/**
 * An agent (or a helpdesk trigger) answering a ticket the moment it was created: the event can
 * come before the delivery that created the ticket is recorded with its conversation's link.
 * The answer must not be lost: the event waits for the link a while, then is ignored (a ticket
 * the gateway never made).
 */

const EMAIL = 'agent@example.com';
const TOKEN = 'zd-token-sync-0123';

describe('an agent event on a ticket whose conversation is not linked yet', () => {
  let zd: FakeZendesk;
  let pipeline: Pipeline;
  let links: ReturnType<typeof memoryLinks>;
  let n = 0;
  const ctx = () => ({ attempt: 1, reconcile: false, idempotencyKey: `job-${++n}` });
  const sync = (ticketId: string, createdAt: number): Job => ({ ...syncJob(ticketId, `sync-${++n}`), id: `j${n}`, attempts: 1, createdAt, ambiguous: false });

  beforeAll(async () => {
    zd = await startFakeZendesk({ email: EMAIL, apiToken: TOKEN });
  });
  afterAll(() => zd.close());
  beforeEach(async () => {
    zd.reset();
    links = memoryLinks();
    const helpdesk = await zendesk.create(ZendeskOptions.parse({ baseUrl: zd.url, email: EMAIL, apiToken: TOKEN }), { log: silent, kv: memoryKv(), dataDir: '/nonexistent' });
    pipeline = createPipeline({
      helpdesk,
      channels: new Map([['telegram', { kind: 'telegram', medium: 'messenger' as const, instance: quietChannel }]]),
      links,
      rules: () => ({ compiled: compileRules([]), replies: {} }),
      timezone: 'UTC',
      log: silent,
    });
  });

  it('waits for the link (not due yet), and once the delivery is recorded the reply goes to the customer', async () => {
    const m = telegramText('01HZSYNC', 1, 'Where is my withdrawal?');
    // The delivery has made the ticket; its completion (with the conversation's link) is not recorded yet.
    const delivered = await pipeline.run([{ id: 'j-in', dedupeKey: m.dedupeKey, lane: 'l', target: 'helpdesk', payload: { kind: 'inbound', message: m }, attempts: 0, createdAt: Date.now(), ambiguous: false }], ctx());
    const ticket = zd.tickets[0]!;
    zd.addAgentComment(ticket.id, 'Your withdrawal went out today.');
    const event = sync(String(ticket.id), Date.now());
    await expect(pipeline.run([event], ctx())).rejects.toBeInstanceOf(NotYet);

    await links.put(delivered!.link!);
    const outcome = await pipeline.run([event], ctx());
    expect(outcome?.enqueue?.map((j) => j.payload.kind)).toEqual(['reply']);
  });

  it('is ignored once it is older than the grace period: a ticket the gateway never made', async () => {
    await expect(pipeline.run([sync('424242', Date.now() - 31_000)], ctx())).resolves.toBeUndefined();
  });
});
