import { describe, expect, it } from 'vitest';
import type { ChannelInstance, Conversation, ReplyToSend } from '../../src/core/connector.ts';
import { NotYet } from '../../src/core/errors.ts';
import { newId } from '../../src/core/ids.ts';
import type { Job } from '../../src/core/jobs.ts';
import { ticketsBeingLinked } from '../../src/core/linking.ts';
import { createPipeline, inboundJob, syncJob } from '../../src/core/pipeline.ts';
import { compileRules } from '../../src/core/rules/engine.ts';
import { redisAvailableOrExplain } from '../fakes/redis-server.ts';
import { silent } from '../fixtures/log.ts';
import { quietChannel, telegramText } from '../fixtures/pipeline.ts';
import { withRuntime } from '../fixtures/runtime.ts';
import { waitFor } from '../fixtures/wait.ts';
import { withFakeZendesk } from '../fixtures/zendesk.ts';

/**
 * A customer's first message makes a ticket; the conversation's link is written when that delivery
 * is recorded (the runtime's completion: a SQLite transaction, a Lua script on Redis), a moment
 * after the helpdesk has the ticket. An agent who answers in that moment (or a helpdesk trigger)
 * sends an event that finds no link. The delivery marks the ticket as being linked the moment the
 * helpdesk answers, so that event waits for the link and the reply reaches the customer; an event
 * on a ticket the gateway never made is still ignored at once. The real pipeline, Zendesk
 * connector (against the fake Zendesk, a real HTTP server) and runtime (embedded, real Redis); the
 * delivery is held between "the helpdesk made the ticket" and "recorded" by wrapping the
 * pipeline the runtime runs, the way reply-via-link.test.ts does.
 */

const redisAvailable = redisAvailableOrExplain('the link race test on Redis');

describe.each([{ store: 'embedded' as const }, ...(redisAvailable ? [{ store: 'redis' as const }] : [])])('an agent event while the ticket is being linked ($store)', ({ store }) => {
  const zendesk = withFakeZendesk('zd-token-link-race-0123');
  const runtime = withRuntime(store, 'linkrace');

  /**
   * The real pipeline on a fresh runtime, a Telegram-like channel (what it sends lands in `sent`).
   * The next inbound delivery after `hold()` is held after it has run and before the runtime
   * records it; every sync attempt is counted as it ends: `waited` (NotYet) or `done`.
   */
  async function gateway() {
    const rt = runtime.open();
    const sent: { to: Conversation; reply: ReplyToSend }[] = [];
    const telegram: ChannelInstance = { ...quietChannel, send: async (to, reply) => (sent.push({ to, reply }), { externalIds: [String(sent.length)] }) };
    const helpdesk = await zendesk.connector();
    const pipeline = createPipeline({
      helpdesk,
      channels: new Map([['telegram', { kind: 'telegram', medium: 'messenger' as const, instance: telegram }]]),
      links: rt.links,
      rules: () => ({ compiled: compileRules([]), replies: {} }),
      timezone: 'UTC',
      log: silent,
      linking: ticketsBeingLinked(rt.kv),
    });
    const syncs: { ticketId: string; ended: 'waited' | 'done' }[] = [];
    let held: { ran(): void; until: Promise<void> } | undefined;
    const sync = (jobs: Job[]) => (jobs[0]!.payload.kind === 'sync' ? jobs[0]!.payload.ticketId : undefined);
    rt.startWorker({
      ...pipeline,
      async run(jobs, ctx) {
        let out;
        try {
          out = await pipeline.run(jobs, ctx);
        } catch (err) {
          const ticketId = sync(jobs);
          if (ticketId && err instanceof NotYet) syncs.push({ ticketId, ended: 'waited' });
          throw err;
        }
        const ticketId = sync(jobs);
        if (ticketId) syncs.push({ ticketId, ended: 'done' });
        const hold = jobs[0]!.payload.kind === 'inbound' ? held : undefined;
        if (hold) {
          held = undefined;
          hold.ran();
          await hold.until;
        }
        return out;
      },
    });
    return {
      rt,
      zd: zendesk.zd,
      sent,
      syncs,
      /** Holds the next inbound delivery once it has run; resolves `ran` then, and records it on `release()`. */
      hold() {
        let ran!: () => void;
        let release!: () => void;
        const wasRun = new Promise<void>((resolve) => (ran = resolve));
        held = { ran, until: new Promise<void>((resolve) => (release = resolve)) };
        return { ran: wasRun, release };
      },
      /** The helpdesk's event for the ticket, queued as its webhook route queues it. */
      event: (ticketId: string) => rt.enqueue([syncJob(ticketId, `sync:${ticketId}:${newId()}`)]),
      /** Nothing queued, nothing in flight. */
      settled: () => waitFor('the runtime settled', async () => {
        const s = await rt.stats();
        return s.queued === 0 && s.inFlight === 0;
      }),
    };
  }

  it("an agent's reply between the helpdesk making the ticket and the delivery being recorded reaches the customer", async () => {
    const gw = await gateway();
    const { rt, zd } = gw;
    const delivery = gw.hold();
    await rt.enqueue([inboundJob(telegramText('01LINKRACE', 1, 'Вывод не пришёл уже 3 дня'))]);
    await delivery.ran;
    const ticket = zd.tickets.at(-1)!;
    const ticketId = String(ticket.id);
    // The helpdesk has the ticket; the gateway has not recorded the delivery, so nothing links it yet.
    expect(ticket.comments.map((c) => c.body)).toEqual(['Вывод не пришёл уже 3 дня']);
    expect(await rt.links.byTicket(ticketId)).toBeUndefined();

    // The agent answers at once; the helpdesk's event is handled in the gap.
    zd.addAgentComment(ticket.id, 'Здравствуйте! Вывод отправлен сегодня.');
    await gw.event(ticketId);
    await waitFor('the event handled in the gap', () => gw.syncs.some((s) => s.ticketId === ticketId));
    expect(await rt.links.byTicket(ticketId)).toBeUndefined();

    delivery.release();
    await waitFor('the conversation linked', () => rt.links.byTicket(ticketId));
    await gw.settled();
    // The customer got the agent's reply, once, in their chat.
    expect(gw.sent.map((s) => ({ chat: s.to.externalId, text: s.reply.text }))).toEqual([{ chat: '777', text: 'Здравствуйте! Вывод отправлен сегодня.' }]);
    // It waited for the link (a few looks), then was read once more and done.
    expect(gw.syncs.filter((s) => s.ticketId === ticketId).at(-1)).toEqual({ ticketId, ended: 'done' });
    expect(gw.syncs.filter((s) => s.ticketId === ticketId && s.ended === 'waited').length).toBeGreaterThan(0);
  }, 120_000);

  it('an event on a ticket the gateway never made is ignored at once, also while another ticket is being linked', async () => {
    const gw = await gateway();
    const { rt, zd } = gw;
    // A ticket from another source (an email to the helpdesk, a ticket an agent opened), answered by an agent.
    const foreign = zd.seedTicket({ description: 'Письмо напрямую в поддержку', tags: [] });
    zd.addAgentComment(foreign.id, 'Ответили по почте.');
    const delivery = gw.hold();
    await rt.enqueue([inboundJob(telegramText('01LINKRACE', 2, 'Бонус не начислен'))]);
    await delivery.ran;

    await gw.event(String(foreign.id));
    await gw.event('999999');
    await waitFor('both events handled', () => gw.syncs.length === 2);
    delivery.release();
    await gw.settled();
    // Each was run once and done with: no wait, no retry, nothing sent.
    expect(gw.syncs).toEqual([
      { ticketId: String(foreign.id), ended: 'done' },
      { ticketId: '999999', ended: 'done' },
    ]);
    expect(gw.sent).toEqual([]);
  }, 120_000);
});
