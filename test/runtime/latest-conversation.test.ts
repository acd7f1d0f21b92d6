import { describe, expect, it } from 'vitest';
import type { ChannelInstance, Conversation } from '../../src/core/connector.ts';
import { createIdentityService } from '../../src/core/identity/service.ts';
import { IdentityOptions } from '../../src/core/identity/options.ts';
import { NormalizedMessage } from '../../src/core/message.ts';
import type { Job } from '../../src/core/jobs.ts';
import { createPipeline, inboundJob, syncJob } from '../../src/core/pipeline.ts';
import { compileRules } from '../../src/core/rules/engine.ts';
import { newId } from '../../src/core/ids.ts';
import type { Runtime } from '../../src/runtime/runtime.ts';
import { redisAvailableOrExplain } from '../fakes/redis-server.ts';
import { silent } from '../fixtures/log.ts';
import { withRuntime } from '../fixtures/runtime.ts';
import { waitFor } from '../fixtures/wait.ts';
import { withFakeZendesk } from '../fixtures/zendesk.ts';

/**
 * A ticket's latest conversation (where an agent's untagged reply goes) is where the customer wrote
 * last, in the order they wrote, not the order their deliveries finish. One player on Telegram and
 * WhatsApp (the same phone: one customer, both conversations on one ticket); a Telegram message
 * whose delivery is held until after a later WhatsApp one is recorded does not take the ticket
 * back. The real pipeline, Zendesk connector (against the fake Zendesk) and identity service, on
 * each runtime.
 */

const redisAvailable = redisAvailableOrExplain('the latest-conversation test on Redis');
const TOKEN = 'zd-token-latest-conv-0123';
const PHONE = '+998901234567';
const SENDERS = {
  telegram: { externalId: '5501', phone: PHONE, displayName: 'Jasur' },
  whatsapp: { externalId: PHONE.slice(1), phone: PHONE, displayName: 'Jasur' },
};

let written = Date.now();

/** Message `id` on `channel`; each one received 10 ms after the one before (the order the customer wrote in). */
function message(channel: 'telegram' | 'whatsapp', id: string, text: string): NormalizedMessage {
  written = Math.max(written + 10, Date.now());
  const at = new Date(written).toISOString();
  const sender = SENDERS[channel];
  return NormalizedMessage.parse({
    id: newId(), channel: { id: channel, kind: channel }, kind: 'message', externalId: id, dedupeKey: `${channel}:${id}`,
    conversation: { externalId: sender.externalId }, sender, text, attachments: [], occurredAt: at, receivedAt: at, meta: {},
  });
}

describe.each([{ store: 'embedded' as const }, ...(redisAvailable ? [{ store: 'redis' as const }] : [])])('the latest conversation follows the order the customer wrote ($store)', ({ store }) => {
  const fake = withFakeZendesk(TOKEN);
  const runtime = withRuntime(store, 'latest');

  it('a message delivered late on one channel does not take the ticket back from a later one on another', async () => {
    const rt: Runtime = runtime.open();
    const sent: Record<string, string[]> = { telegram: [], whatsapp: [] };
    const channel = (id: string): ChannelInstance => ({
      send: async (_to: Conversation, out) => (sent[id]!.push(out.text ?? ''), { externalIds: [`${id}-out-${sent[id]!.length}`] }),
      fetchAttachment: async () => {
        throw new Error('no files here');
      },
    });
    const helpdesk = await fake.connector();
    const pipeline = createPipeline({
      helpdesk,
      channels: new Map([
        ['telegram', { kind: 'telegram', medium: 'messenger' as const, network: 'telegram', instance: channel('telegram') }],
        ['whatsapp', { kind: 'whatsapp', medium: 'messenger' as const, network: 'whatsapp', instance: channel('whatsapp') }],
      ]),
      links: rt.links,
      rules: () => ({ compiled: compileRules([]), replies: {} }),
      timezone: 'UTC',
      log: silent,
      identity: createIdentityService({ store: rt.identities, options: IdentityOptions.parse({ join: 'open-ticket' }), helpdesk, helpdeskFields: [], log: silent, newId }),
    });
    // The delivery of the message with this id is held after its work, before the runtime records it.
    let hold: { id: string; reached(): void; until: Promise<void> } | undefined;
    rt.startWorker({
      ...pipeline,
      async run(jobs: Job[], ctx) {
        const out = await pipeline.run(jobs, ctx);
        const h = hold;
        if (h && jobs.some((j) => j.payload.kind === 'inbound' && j.payload.message.externalId === h.id)) {
          hold = undefined;
          h.reached();
          await h.until;
        }
        return out;
      },
    });
    const tg = `telegram:${SENDERS.telegram.externalId}`;
    const wa = `whatsapp:${SENDERS.whatsapp.externalId}`;
    const latest = async () => (await rt.links.byTicket(String(ticket.id)))?.conversationKey;
    const recorded = (key: string, id: string) => waitFor(`${id} recorded`, async () => (await rt.links.get(key))?.conversation.meta?.['lastMessageId'] === id);
    let synced = 0;
    const agentAnswers = async (text: string) => {
      fake.zd.addAgentComment(ticket.id, text);
      await rt.enqueue([syncJob(String(ticket.id), `sync:${ticket.id}:${++synced}`)]);
    };

    // Jasur writes on Telegram, then on WhatsApp: one ticket, its latest conversation WhatsApp.
    await rt.enqueue([inboundJob(message('telegram', 'tg-1', 'Не пришёл вывод'))]);
    const ticket = await waitFor('the ticket', () => fake.zd.tickets.at(-1));
    await recorded(tg, 'tg-1');
    await rt.enqueue([inboundJob(message('whatsapp', 'wa-1', 'Пишу с WhatsApp про тот же вывод'))]);
    await recorded(wa, 'wa-1');
    expect(fake.zd.tickets).toHaveLength(1);
    expect(await latest()).toBe(wa);

    // He writes on Telegram; that delivery is held before it is recorded. Then he writes on WhatsApp,
    // and that one is recorded first. The Telegram one is recorded last.
    let reached!: () => void;
    const wasReached = new Promise<void>((resolve) => (reached = resolve));
    let release!: () => void;
    hold = { id: 'tg-2', reached, until: new Promise<void>((resolve) => (release = resolve)) };
    await rt.enqueue([inboundJob(message('telegram', 'tg-2', 'Номер карты 8600 …'))]);
    await wasReached;
    await rt.enqueue([inboundJob(message('whatsapp', 'wa-2', 'Отвечайте сюда, в WhatsApp'))]);
    await recorded(wa, 'wa-2');
    release();
    await recorded(tg, 'tg-2');
    expect(ticket.comments.map((c) => c.body).filter((b) => /Номер карты|Отвечайте сюда/.test(b))).toHaveLength(2);

    // WhatsApp, where he wrote last, stays the ticket's latest: the agent's reply goes there.
    expect(await latest()).toBe(wa);
    await agentAnswers('Видим вывод, он в обработке.');
    await waitFor('the reply on WhatsApp', () => sent.whatsapp!.includes('Видим вывод, он в обработке.'));
    expect(sent.telegram).toEqual([]);

    // He writes on Telegram again: now that is where he wrote last.
    await rt.enqueue([inboundJob(message('telegram', 'tg-3', 'Спасибо, жду'))]);
    await recorded(tg, 'tg-3');
    expect(await latest()).toBe(tg);
    await agentAnswers('Пожалуйста!');
    await waitFor('the reply on Telegram', () => sent.telegram!.includes('Пожалуйста!'));
  }, 120_000);
});
