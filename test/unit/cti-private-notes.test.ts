import { beforeEach, describe, expect, it } from 'vitest';
import type { NewJob } from '../../src/core/jobs.ts';
import { NormalizedMessage, type NormalizedMessageInput } from '../../src/core/message.ts';
import { createPipeline, type Pipeline } from '../../src/core/pipeline.ts';
import { compileRules } from '../../src/core/rules/engine.ts';
import type { FakeZendesk } from '../fakes/zendesk-server.ts';
import { silent } from '../fixtures/log.ts';
import { deliverInbound, memoryLinks, quietChannel } from '../fixtures/pipeline.ts';
import { withFakeZendesk } from '../fixtures/zendesk.ts';

/**
 * Call logs are private messages: the pipeline writes them as internal notes (TicketInput.private)
 * and never answers them; the Zendesk connector makes them private comments by the API user.
 */


let n = 0;
function callMessage(over: Partial<NormalizedMessageInput>): NormalizedMessage {
  n += 1;
  return NormalizedMessage.parse({
    id: `01HZCALL${String(n).padStart(18, '0')}`,
    channel: { id: 'pbx', kind: 'cti' },
    kind: 'call',
    externalId: `c-${n}:end`,
    dedupeKey: `c-${n}:end`,
    conversation: { externalId: '+998901234567' },
    sender: { externalId: '+998901234567', phone: '+998901234567', displayName: '+998901234567' },
    text: 'Phone call (inbound) from +998901234567\nAnswered by: Alice\nTalk time: 1:05',
    occurredAt: new Date().toISOString(),
    receivedAt: new Date().toISOString(),
    ...over,
  });
}

describe('private messages (call logs) through the pipeline into Zendesk', () => {
  const zendesk = withFakeZendesk('zd-token-private-0123');
  let zd: FakeZendesk;
  let pipeline: Pipeline;
  let links: ReturnType<typeof memoryLinks>;
  let enqueued: NewJob[];
  let job = 0;
  const ctx = () => ({ attempt: 1, reconcile: false, idempotencyKey: `job-${++job}` });

  beforeEach(async () => {
    zd = zendesk.zd;
    links = memoryLinks();
    enqueued = [];
    const helpdesk = await zendesk.connector();
    const compiled = compileRules([{ name: 'calls', when: { kind: 'call' }, set: { tags: ['phone'] }, reply: 'thanks' }]);
    pipeline = createPipeline({
      helpdesk,
      channels: new Map([['pbx', { kind: 'cti', medium: 'phone' as const, instance: quietChannel }]]),
      links,
      rules: () => ({ compiled, replies: { thanks: { en: 'Thanks for calling' } } }),
      timezone: 'UTC',
      log: silent,
    });
  });

  const run = async (m: NormalizedMessage) => void enqueued.push(...(await deliverInbound(pipeline, links, m, ctx())));

  it('a call log with no ticket yet opens one for the caller whose only comment is an internal note', async () => {
    await run(callMessage({ private: true }));
    expect(zd.tickets).toHaveLength(1);
    const t = zd.tickets[0]!;
    const requester = zd.users.find((u) => u.id === t.requester_id)!;
    expect(requester.phone).toBe('+998901234567');
    expect(t.comments[0]).toMatchObject({ public: false });
    expect(t.comments[0]!.author_id).not.toBe(requester.id);
    expect(t.comments[0]!.body).toContain('Answered by: Alice');
    expect(t.tags).toContain('phone');
    expect(enqueued.filter((j) => j.payload.kind === 'autoreply')).toHaveLength(0);
  });

  it("a missed call is the caller's public message; the call log after it is a private note on the same ticket, never answered", async () => {
    await run(callMessage({ text: 'Missed call from +998901234567: no answer.' }));
    expect(enqueued.filter((j) => j.payload.kind === 'autoreply')).toHaveLength(1);
    await run(callMessage({ private: true }));
    expect(zd.tickets).toHaveLength(1);
    const [missed, log] = zd.tickets[0]!.comments.filter((c) => !c.body.startsWith('Switchboard'));
    expect(missed).toMatchObject({ public: true, author_id: zd.tickets[0]!.requester_id });
    expect(log).toMatchObject({ public: false });
    expect(log!.author_id).not.toBe(zd.tickets[0]!.requester_id);
    expect(enqueued.filter((j) => j.payload.kind === 'autoreply')).toHaveLength(1);
  });
});
