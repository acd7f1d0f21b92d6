import { describe, expect, it } from 'vitest';
import type { ChannelInstance, Conversation } from '../../src/core/connector.ts';
import { DeliveryError } from '../../src/core/errors.ts';
import { createIdentityService } from '../../src/core/identity/service.ts';
import { IdentityOptions } from '../../src/core/identity/options.ts';
import { NormalizedMessage } from '../../src/core/message.ts';
import type { Job } from '../../src/core/jobs.ts';
import { createPipeline, inboundJob, syncJob, type RunOutcome } from '../../src/core/pipeline.ts';
import { compileRules } from '../../src/core/rules/engine.ts';
import { newId } from '../../src/core/ids.ts';
import type { Runtime } from '../../src/runtime/runtime.ts';
import { redisAvailableOrExplain } from '../fakes/redis-server.ts';
import { silent } from '../fixtures/log.ts';
import { quietChannel } from '../fixtures/pipeline.ts';
import { withRuntime } from '../fixtures/runtime.ts';
import { waitFor } from '../fixtures/wait.ts';
import { withFakeZendesk } from '../fixtures/zendesk.ts';

/**
 * The mail thread an agent's `reply_via_<email channel>` tag opens is stored by the runtime in the
 * completion of the delivery that routed the reply, with the reply jobs that go to it (one write:
 * a SQLite transaction, one Lua script on Redis). A delivery whose completion is not recorded (the
 * process died, another Redis worker took its lane back) leaves no thread behind: until the reply
 * is queued, the ticket's latest conversation stays the one the customer wrote on, which is where
 * untagged replies, the rating question and `[#id]` mails go. Once it exists, routing never writes
 * it again, so the customer's answers on it, delivered while the next replies are routed (either
 * side held at a point), are never written over with an older copy. The real pipeline, Zendesk
 * connector (against the fake Zendesk) and identity service, on each runtime.
 */

const redisAvailable = redisAvailableOrExplain('the reply-via thread test on Redis');
const TOKEN = 'zd-token-reply-via-0123';

/** The conversation a delivery's first follow-up reply goes to, when it names one. */
function replyTo(out: RunOutcome | void): string | undefined {
  const reply = out?.enqueue?.[0]?.payload;
  return reply?.kind === 'reply' ? reply.to : undefined;
}

function message(channel: 'site' | 'support', id: string, conversation: string, sender: NormalizedMessage['sender'], text: string): NormalizedMessage {
  const now = new Date().toISOString();
  return NormalizedMessage.parse({
    id: newId(), channel: { id: channel, kind: channel === 'site' ? 'webform' : 'email' }, kind: 'message', externalId: id, dedupeKey: id,
    conversation: { externalId: conversation, subject: 'Вывод' }, sender, text, attachments: [], occurredAt: now, receivedAt: now, meta: {},
  });
}

describe.each([{ store: 'embedded' as const }, ...(redisAvailable ? [{ store: 'redis' as const }] : [])])('a reply-via mail thread is written with its delivery ($store)', ({ store }) => {
  const fake = withFakeZendesk(TOKEN);
  const runtime = withRuntime(store, 'replyvia');
  let rt: Runtime;

  /**
   * The real pipeline on `rt`, a web form and a support mailbox (mails land in `mails`). `afterRun`
   * sees each delivery's outcome before the runtime records it: a test holds or fails it there.
   */
  async function gateway(afterRun: (jobs: Job[], out: RunOutcome | void) => Promise<void>) {
    rt = runtime.open();
    const mails: Conversation[] = [];
    const support: ChannelInstance = { ...quietChannel, send: async (to) => (mails.push(to), { externalIds: [`<m${mails.length}@acme.test>`] }) };
    const helpdesk = await fake.connector();
    const pipeline = createPipeline({
      helpdesk,
      channels: new Map([
        ['site', { kind: 'webform', medium: 'form' as const, instance: quietChannel }],
        ['support', { kind: 'email', medium: 'email' as const, instance: support }],
      ]),
      links: rt.links,
      rules: () => ({ compiled: compileRules([]), replies: {} }),
      timezone: 'UTC',
      log: silent,
      identity: createIdentityService({ store: rt.identities, options: IdentityOptions.parse({}), helpdesk, helpdeskFields: [], log: silent, newId }),
    });
    rt.startWorker({
      ...pipeline,
      async run(jobs, ctx) {
        const out = await pipeline.run(jobs, ctx);
        await afterRun(jobs, out);
        return out;
      },
    });

    // Dilnoza writes through the site's form, with her address typed in.
    await rt.enqueue([inboundJob(message('site', 'sub-1', 'sub-1', { externalId: 'sub-1', email: 'Dilnoza@customer.test', displayName: 'Dilnoza' }, 'Не могу вывести выигрыш'))]);
    const ticket = await waitFor('the form ticket', () => fake.zd.tickets.at(-1));
    await waitFor('the form conversation linked', async () => (await rt.links.byTicket(String(ticket.id)))?.conversationKey === 'site:sub-1');
    let synced = 0;
    return {
      ticket,
      mails,
      /** An agent's answer with the ticket tagged reply_via_support (the event carries the tags). */
      agentAnswers: async (text: string) => {
        fake.zd.addAgentComment(ticket.id, text);
        await rt.enqueue([syncJob(String(ticket.id), `sync:${ticket.id}:${++synced}`, ['reply_via_support'])]);
      },
    };
  }

  it('an attempt whose completion is not recorded leaves no thread; the one recorded stores it with the reply', async () => {
    // The routing delivery's first attempt does all its work, then is not recorded (as when its
    // process dies before the completion). What the store holds at that moment is kept to check.
    let unrecorded: { thread: unknown; latest: string | undefined } | undefined;
    const { ticket, mails, agentAnswers } = await gateway(async (jobs, out) => {
      if (jobs[0]!.payload.kind !== 'sync' || unrecorded) return;
      const to = replyTo(out);
      unrecorded = { thread: to && (await rt.links.get(to)), latest: (await rt.links.byTicket(jobs[0]!.payload.ticketId))?.conversationKey };
      throw new DeliveryError('the completion was not recorded', { kind: 'retry' });
    });

    await agentAnswers('Выписку отправили на почту.');
    await waitFor('the reply by email', () => mails.length > 0);

    // The attempt that was not recorded left nothing: no thread, and the ticket's latest conversation is still the form.
    expect(unrecorded).toEqual({ thread: undefined, latest: 'site:sub-1' });
    // The recorded one: one mail, to the address she gave, in the thread it stored with the reply.
    expect(mails).toHaveLength(1);
    expect(mails[0]).toMatchObject({ channelId: 'support', externalId: expect.stringMatching(/^ticket-\d+-to-[0-9a-f]{24}$/), sender: { email: 'Dilnoza@customer.test' } });
    const thread = await rt.links.get(`support:${mails[0]!.externalId}`);
    expect(thread).toMatchObject({ ticketId: String(ticket.id), conversation: { meta: { openedTo: 'dilnoza@customer.test' } } });
    expect((await rt.links.byTicket(String(ticket.id)))?.conversationKey).toBe(thread!.conversationKey);
    await waitFor('the note on the ticket', () => ticket.comments.some((c) => !c.public && c.body.includes('sent by email to Dilnoza@customer.test (the address the customer gave')));
  }, 120_000);

  it('her answers on the thread, delivered while the next replies are routed, are never lost or written over', async () => {
    // A routing delivery (the next one after `holdRouting` is set) can be held after it has read the
    // thread and before it is recorded.
    let holdRouting: { routed(): void; until: Promise<void> } | undefined;
    const { mails, agentAnswers } = await gateway(async (jobs) => {
      const hold = jobs[0]!.payload.kind === 'sync' ? holdRouting : undefined;
      if (!hold) return;
      holdRouting = undefined;
      hold.routed();
      await hold.until;
    });
    await agentAnswers('Выписку отправили на почту.');
    const thread = await waitFor('the first mail', () => mails[0]);
    const key = `support:${thread.externalId}`;
    const answer = (n: number, text: string) =>
      rt.enqueue([inboundJob(message('support', `<answer${n}@customer.test>`, thread.externalId, { externalId: 'dilnoza@customer.test', email: 'dilnoza@customer.test', addressVerified: true }, text))]);
    const answered = (n: number) => waitFor(`answer ${n} recorded on the thread`, async () => (await rt.links.get(key))?.conversation.meta?.['lastMessageId'] === `<answer${n}@customer.test>`);

    // 1. The next reply has read the thread and waits to be recorded while her answer is delivered and recorded.
    let routed!: () => void;
    const wasRouted = new Promise<void>((resolve) => (routed = resolve));
    let release!: () => void;
    holdRouting = { routed, until: new Promise<void>((resolve) => (release = resolve)) };
    await agentAnswers('Деньги придут сегодня.');
    await wasRouted;
    await answer(1, 'Получила, спасибо!');
    await answered(1);
    release();
    const second = await waitFor('the second mail', () => mails[1]);
    // It went into her thread, answering her answer: the routing wrote nothing over what her answer left.
    expect(second).toMatchObject({ externalId: thread.externalId, meta: { openedTo: 'dilnoza@customer.test', lastMessageId: '<answer1@customer.test>' } });

    // 2. Her next answer is held in the helpdesk while the next reply is routed and recorded; it finishes last.
    const held = fake.zd.holdWrites();
    await answer(2, 'А когда именно?');
    await waitFor('her answer waiting on the helpdesk', () => held.held() > 0);
    await agentAnswers('До конца дня.');
    const third = await waitFor('the third mail', () => mails[2]);
    expect(third).toMatchObject({ externalId: thread.externalId, meta: { lastMessageId: '<answer1@customer.test>' } });
    held.release();
    await answered(2);
    expect((await rt.links.get(key))?.conversation.meta).toMatchObject({ openedTo: 'dilnoza@customer.test', lastMessageId: '<answer2@customer.test>' });
    await agentAnswers('Проверили, всё в порядке.');
    const fourth = await waitFor('the fourth mail', () => mails[3]);
    expect(fourth).toMatchObject({ externalId: thread.externalId, meta: { openedTo: 'dilnoza@customer.test', lastMessageId: '<answer2@customer.test>' } });
    expect(new Set(mails.map((m) => m.externalId)).size).toBe(1);
  }, 120_000);
});
