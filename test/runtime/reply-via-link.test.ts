import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { definition as zendesk, ZendeskOptions } from '../../connectors/helpdesks/zendesk/index.ts';
import type { ChannelInstance, Conversation } from '../../src/core/connector.ts';
import { DeliveryError } from '../../src/core/errors.ts';
import { createIdentityService } from '../../src/core/identity/service.ts';
import { IdentityOptions } from '../../src/core/identity/options.ts';
import { NormalizedMessage } from '../../src/core/message.ts';
import { createPipeline, inboundJob, syncJob, type Pipeline } from '../../src/core/pipeline.ts';
import { compileRules } from '../../src/core/rules/engine.ts';
import { newId } from '../../src/core/ids.ts';
import { createEmbeddedRuntime } from '../../src/runtime/embedded/index.ts';
import { createRedisRuntime } from '../../src/runtime/redis/index.ts';
import { memoryKv } from '../../src/runtime/memory-kv.ts';
import type { Runtime } from '../../src/runtime/runtime.ts';
import { redisAvailableOrExplain, startRedis, type RedisServer } from '../fakes/redis-server.ts';
import { startFakeZendesk, type FakeZendesk } from '../fakes/zendesk-server.ts';
import { silent } from '../fixtures/log.ts';
import { quietChannel } from '../fixtures/pipeline.ts';
import { waitFor } from '../fixtures/wait.ts';

/**
 * The mail thread an agent's `reply_via_<email channel>` tag opens is stored by the runtime in the
 * completion of the delivery that routed the reply, with the reply jobs that go to it (one write:
 * a SQLite transaction, one Lua script on Redis). A delivery whose completion is not recorded (the
 * process died, another Redis worker took its lane back) leaves no thread behind: until the reply
 * is queued, the ticket's latest conversation stays the one the customer wrote on, which is where
 * untagged replies, the rating question and `[#id]` mails go. The real pipeline, Zendesk connector
 * (against the fake Zendesk) and identity service, on each runtime.
 */

const redisAvailable = redisAvailableOrExplain('the reply-via thread test on Redis');
const EMAIL = 'agent@example.com';
const TOKEN = 'zd-token-reply-via-0123';

describe.each([{ store: 'embedded' }, ...(redisAvailable ? [{ store: 'redis' }] : [])])('a reply-via mail thread is written with its delivery ($store)', ({ store }) => {
  let zd: FakeZendesk;
  let redis: RedisServer | undefined;
  let rt: Runtime;
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-replyvia-'));
  beforeAll(async () => {
    zd = await startFakeZendesk({ email: EMAIL, apiToken: TOKEN });
    if (store === 'redis') redis = await startRedis();
  });
  afterEach(async () => {
    await rt?.close(1000);
  });
  afterAll(async () => {
    await zd.close();
    await redis?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function openRuntime(): Runtime {
    const common = { concurrency: 4, retry: { maxAttempts: 5, baseDelayMs: 40, maxDelayMs: 200 }, batchSettleMs: 0, log: pino({ level: 'silent' }) };
    return store === 'redis' ? createRedisRuntime({ url: redis!.url, prefix: 'replyvia', lockDurationMs: 5000, ...common }) : createEmbeddedRuntime({ path: join(dir, 'db'), ...common });
  }

  it('an attempt whose completion is not recorded leaves no thread; the one recorded stores it with the reply', async () => {
    rt = openRuntime();
    const mails: Conversation[] = [];
    const support: ChannelInstance = { ...quietChannel, send: async (to) => (mails.push(to), { externalIds: [`<m${mails.length}@acme.test>`] }) };
    const helpdesk = await zendesk.create(ZendeskOptions.parse({ baseUrl: zd.url, email: EMAIL, apiToken: TOKEN }), { log: silent, kv: memoryKv(), dataDir: dir });
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

    // The routing delivery's first attempt does all its work, then is not recorded (as when its
    // process dies before the completion). What the store holds at that moment is kept to check.
    let unrecorded: { thread: unknown; latest: string | undefined } | undefined;
    const flaky: Pipeline = {
      ...pipeline,
      async run(jobs, ctx) {
        const out = await pipeline.run(jobs, ctx);
        if (jobs[0]!.payload.kind !== 'sync' || unrecorded) return out;
        const reply = out?.enqueue?.[0]?.payload;
        const to = reply?.kind === 'reply' ? reply.to : undefined;
        unrecorded = { thread: to && (await rt.links.get(to)), latest: (await rt.links.byTicket(jobs[0]!.payload.ticketId))?.conversationKey };
        throw new DeliveryError('the completion was not recorded', { kind: 'retry' });
      },
    };
    rt.startWorker(flaky);

    // Dilnoza writes through the site's form, with her address typed in.
    const now = new Date().toISOString();
    await rt.enqueue([inboundJob(NormalizedMessage.parse({
      id: newId(), channel: { id: 'site', kind: 'webform' }, kind: 'message', externalId: 'sub-1', dedupeKey: 'sub-1',
      conversation: { externalId: 'sub-1', subject: 'Вывод' }, sender: { externalId: 'sub-1', email: 'Dilnoza@customer.test', displayName: 'Dilnoza' },
      text: 'Не могу вывести выигрыш', attachments: [], occurredAt: now, receivedAt: now, meta: {},
    }))]);
    const ticket = await waitFor('the form ticket', () => zd.tickets[0]);
    await waitFor('the form conversation linked', async () => (await rt.links.byTicket(String(ticket.id)))?.conversationKey === 'site:sub-1');

    // The agent answers with the ticket tagged reply_via_support (the event carries the tags).
    zd.addAgentComment(ticket.id, 'Выписку отправили на почту.');
    await rt.enqueue([syncJob(String(ticket.id), `sync:${ticket.id}:1`, ['reply_via_support'])]);
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
  }, 60_000);
});
