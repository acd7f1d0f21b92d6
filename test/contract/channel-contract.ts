import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { registry } from '../../connectors/registry.ts';
import type { ChannelContext, ChannelInstance, Conversation, HelpdeskInstance } from '../../src/core/connector.ts';
import { DeliveryError } from '../../src/core/errors.ts';
import { buildApp } from '../../src/http/app.ts';
import { Activity } from '../../src/runtime/activity.ts';
import { createEmbeddedRuntime } from '../../src/runtime/embedded/index.ts';
import { createMetrics } from '../../src/runtime/metrics.ts';
import type { Runtime } from '../../src/runtime/runtime.ts';
import { channelContext, type FakeChannelContext } from '../fixtures/channel-context.ts';
import { silent } from '../fixtures/log.ts';
import { waitFor } from '../fixtures/wait.ts';

/**
 * The contract every channel keeps, run for every registered channel kind (one small file each in
 * test/contract/channels/). A channel is done when it passes:
 *
 * - a new event is acknowledged (2xx) only after it is stored, and stored once;
 * - a redelivery is a no-op: still a 2xx, still one stored message;
 * - when storing fails the answer is 503 and nothing is acknowledged, and the retry is stored
 *   (the failed attempt released nothing that would make the retry be discarded);
 * - a wrong or missing secret is a 401 that stores nothing;
 * - a body of the wrong shape is a 4xx naming the field, storing nothing;
 * - `send` is idempotent on the reply id: a retried send never sends a part twice; a channel that
 *   cannot send answers with a note for the agent and sends nothing.
 *
 * Webhook channels are driven through the gateway's real HTTP app (body parsers, limits, mount
 * points); channels that fetch their messages (IMAP, a WhatsApp client) get them through their fake
 * vendor, where "acknowledged" is what the vendor sees (a mail marked read). Sends are observed on
 * the vendor's fake server in test/fakes/. A rule that cannot apply to a channel is declared in
 * `notApplicable` with the reason, and shows as skipped with it.
 */

/** The channel's id in the contract's gateway: its webhooks are /webhooks/inbox, its form /forms/inbox. */
export const CHANNEL_ID = 'inbox';
/** `server.publicUrl` of the contract's gateway (Twilio signs the URL it calls). */
export const PUBLIC_URL = 'https://support-gw.example.test';

/** An HTTP request as the vendor sends it. */
export interface VendorRequest {
  method?: 'POST' | 'GET';
  /** From the root, with the query: `/webhooks/inbox?token=…`. */
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** A channel that is called: webhooks, a web form. */
export interface WebhookInbound {
  via: 'http';
  /** A valid request carrying event `n`: each `n` a new message, the same `n` again the same event delivered again. */
  event(n: number): VendorRequest;
  /** Event `n` signed with a wrong secret, or carrying none. */
  forged?(n: number, how: 'wrong' | 'missing'): VendorRequest;
  /** A correctly authenticated request whose body is wrong in `field`. */
  badShape?(): { request: VendorRequest; field: string };
}

/** A channel that fetches: a mailbox, a linked WhatsApp account. */
export interface FetchedInbound {
  via: 'fetch';
  /** Puts event `n` where the channel reads it; the same `n` again is the same event delivered again. */
  deliver(n: number): Promise<void> | void;
  /** How many deliveries the vendor has seen acknowledged (mail marked read, messages taken). */
  acknowledged(): Promise<number> | number;
}

export interface ChannelOutbound {
  /** A conversation with a customer this channel can reach. */
  conversation(): Conversation;
  /** The texts the customer received, in order, as the vendor's fake recorded them. */
  received(): string[];
  /** The vendor refuses one send (a 5xx, or a 4xx of SMTP) after `after` more that succeed. */
  failSend(after: number): void;
}

export interface ChannelHarness {
  /** The channel under test, against this harness's fakes, with the contract's context. */
  create(ctx: ChannelContext, fake: FakeChannelContext): Promise<ChannelInstance> | ChannelInstance;
  inbound: WebhookInbound | FetchedInbound;
  /** For a channel whose definition declares `sends`: where its replies can be seen. */
  outbound?: ChannelOutbound;
  /** Before each test: the fakes forget the previous test. */
  reset?(): Promise<void> | void;
  close(): Promise<void>;
}

export interface ChannelContractSpec {
  kind: string;
  /** When a kind runs the contract in more than one way (Telegram's webhook and polling). */
  label?: string;
  start(): Promise<ChannelHarness>;
  /** Rules that cannot apply, each with the reason (shown in the skipped test's name). */
  notApplicable?: { secret?: string; badShape?: string };
  /** The vendor's fake needs a server that is not installed (the suite says so loudly). */
  skip?: boolean;
}

/** A fresh event number for every use, so no test sees another's events. */
let eventSeq = 0;
const nextEvent = () => ++eventSeq;

const LONG_REPLY = `${'Проверили ваш вывод. '.repeat(200).trim()}\n\n${'Деньги отправлены на карту. '.repeat(180).trim()}`;
const squash = (s: string) => s.replace(/\s+/g, '');

export function channelContract(spec: ChannelContractSpec): void {
  const def = registry.channels.find((d) => d.kind === spec.kind);

  describe.skipIf(spec.skip === true)(`channel contract: ${spec.label ?? spec.kind}`, () => {
    let harness: ChannelHarness;
    let runtime: Runtime;
    let dataDir: string;
    let fake: FakeChannelContext;
    let channel: ChannelInstance;
    let app: FastifyInstance | undefined;

    beforeAll(async () => {
      harness = await spec.start();
      dataDir = await mkdtemp(join(tmpdir(), 'switchboard-channel-contract-'));
      runtime = createEmbeddedRuntime({ path: dataDir, concurrency: 1, retry: { maxAttempts: 1, baseDelayMs: 10, maxDelayMs: 10 }, log: silent });
    });
    afterAll(async () => {
      await harness?.close();
      await runtime?.close();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    });
    beforeEach(async () => {
      await harness.reset?.();
      fake = channelContext({ channelId: CHANNEL_ID, publicUrl: PUBLIC_URL });
      channel = await harness.create(fake.ctx, fake);
      app = channel.routes?.length ? await mount(channel, runtime) : undefined;
      await channel.start?.();
      await waitFor('the channel to be ready', () => channel.status?.().ready ?? true);
    });
    afterEach(async () => {
      await channel?.stop?.();
      await app?.close();
    });

    const call = async (req: VendorRequest) => {
      const res = await app!.inject({ method: req.method ?? 'POST', url: req.path, headers: req.headers ?? {}, payload: req.body ?? '' });
      return { status: res.statusCode, body: res.body };
    };
    const stored = () => fake.stored().length;

    it('is registered, with what it is and what it sends', () => {
      expect(def, `${spec.kind} is not in connectors/registry.ts`).toBeDefined();
      expect(def!.sends.length > 0, 'a harness watches replies exactly when the channel declares `sends`').toBe(harness.outbound !== undefined);
    });

    const webhook = () => harness.inbound as WebhookInbound;
    const fetched = () => harness.inbound as FetchedInbound;
    const viaHttp = () => harness.inbound.via === 'http';

    it('acknowledges a new event only after it is stored, and stores it once', async () => {
      if (viaHttp()) {
        expect(channel.routes?.length, 'a channel called over HTTP mounts routes').toBeGreaterThan(0);
        const release = fake.holdAccepts();
        let answered = false;
        const answer = call(webhook().event(nextEvent())).finally(() => (answered = true));
        await waitFor('the channel to store the event', () => fake.acceptCalls.length > 0);
        // Let the request run as far as it can: it must still be waiting on the store.
        for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
        expect(answered, 'answered before the event was stored').toBe(false);
        release();
        expect((await answer).status).toBeLessThan(300);
      } else {
        const release = fake.holdAccepts();
        await fetched().deliver(nextEvent());
        await waitFor('the channel to store the event', () => fake.acceptCalls.length > 0);
        expect(await fetched().acknowledged(), 'acknowledged to the vendor before the event was stored').toBe(0);
        release();
        await waitFor('the event to be acknowledged to the vendor', async () => (await fetched().acknowledged()) === 1);
      }
      expect(stored()).toBe(1);
    });

    it('treats a redelivery as a no-op: acknowledged (2xx), stored once', async () => {
      const n = nextEvent();
      if (viaHttp()) {
        const first = await call(webhook().event(n));
        const again = await Promise.all([1, 2, 3].map(() => call(webhook().event(n))));
        for (const res of [first, ...again]) expect(res.status, res.body).toBeLessThan(300);
      } else {
        await fetched().deliver(n);
        await waitFor('the event', () => stored() === 1);
        await fetched().deliver(n);
        await waitFor('the redelivery to be acknowledged', async () => (await fetched().acknowledged()) === 2);
      }
      expect(stored()).toBe(1);
    });

    it('acknowledges nothing while storing fails (503 to a webhook), and stores the retry', async () => {
      const n = nextEvent();
      fake.failAccepts();
      if (viaHttp()) {
        const refused = await call(webhook().event(n));
        expect(refused.status, refused.body).toBe(503);
        expect(refused.body).not.toMatch(/store unavailable|at .*\.ts:\d+/);
        expect(stored()).toBe(0);
        fake.failAccepts(0);
        const retried = await call(webhook().event(n));
        expect(retried.status, retried.body).toBeLessThan(300);
      } else {
        await fetched().deliver(n);
        // Read, refused by the store, and read again: it was not acknowledged.
        await waitFor('a second try after the store refused', () => fake.acceptCalls.length >= 2);
        expect(await fetched().acknowledged()).toBe(0);
        expect(stored()).toBe(0);
        fake.failAccepts(0);
        await waitFor('the event, once the store is back', async () => stored() === 1 && (await fetched().acknowledged()) === 1);
      }
      expect(stored()).toBe(1);
    });

    const secretReason = spec.notApplicable?.secret;
    it.skipIf(secretReason !== undefined)(`refuses a wrong or missing secret with 401, storing nothing${secretReason ? ` (not applicable: ${secretReason})` : ''}`, async () => {
      const forge = viaHttp() ? webhook().forged : undefined;
      expect(forge, 'the harness builds forged requests, or notApplicable.secret says why there is no secret').toBeDefined();
      for (const how of ['wrong', 'missing'] as const) {
        const res = await call(forge!(nextEvent(), how));
        expect(res.status, `${how} secret: ${res.body}`).toBe(401);
      }
      expect(fake.acceptCalls).toEqual([]);
    });

    const shapeReason = spec.notApplicable?.badShape;
    it.skipIf(shapeReason !== undefined)(`answers a body of the wrong shape with a 4xx naming the field, storing nothing${shapeReason ? ` (not applicable: ${shapeReason})` : ''}`, async () => {
      const bad = viaHttp() ? webhook().badShape?.() : undefined;
      expect(bad, 'the harness builds a badly shaped request, or notApplicable.badShape says why there is none').toBeDefined();
      const res = await call(bad!.request);
      expect(res.status, res.body).toBeGreaterThanOrEqual(400);
      expect(res.status, res.body).toBeLessThan(500);
      expect(res.body).toContain(bad!.field);
      expect(stored()).toBe(0);
    });

    const sends = (def?.sends.length ?? 0) > 0;
    it.runIf(sends)('sends a reply once however often the send is retried', async () => {
      const out = harness.outbound!;
      const to = out.conversation();
      const reply = { text: `Ответ оператора ${nextEvent()}`, files: [], replyId: `r-${eventSeq}` };
      out.failSend(0);
      const refused = await channel.send(to, reply).catch((e: unknown) => e);
      expect(refused, 'the vendor refused the first try').toBeInstanceOf(DeliveryError);
      expect((refused as DeliveryError).kind).not.toBe('permanent');
      const sent = await channel.send(to, reply);
      expect(sent.externalIds.length).toBeGreaterThan(0);
      expect((await channel.send(to, reply)).externalIds, 'a retry answers with what was sent').toEqual(sent.externalIds);
      expect(out.received().filter((t) => t.includes(reply.text))).toHaveLength(1);
    });

    it.runIf(sends)('a long reply retried after a failure halfway arrives whole, no part twice', async () => {
      const out = harness.outbound!;
      const to = out.conversation();
      const reply = { text: LONG_REPLY, files: [], replyId: `r-${nextEvent()}` };
      out.failSend(1);
      // The vendor takes the first part and refuses the next (a channel that sends it as one piece is not refused).
      await channel.send(to, reply).catch((e: unknown) => expect(e).toBeInstanceOf(DeliveryError));
      await channel.send(to, reply);
      await channel.send(to, reply);
      const got = out.received().filter((t) => LONG_REPLY.includes(t.trim().slice(0, 40)));
      expect(squash(got.join(''))).toBe(squash(LONG_REPLY));
    });

    it.runIf(!sends)('cannot send: a reply becomes a note for the agent and nothing goes out', async () => {
      const to: Conversation = { channelId: CHANNEL_ID, externalId: 'c-1', sender: { externalId: 'c-1', phone: '+998901234567', email: 'player@example.com' } };
      const result = await channel.send(to, { text: 'Здравствуйте', files: [], replyId: 'r-1' });
      expect(result.externalIds).toEqual([]);
      expect(result.notes?.length).toBeGreaterThan(0);
    });
  });
}

/** The gateway's HTTP app with just this channel mounted (no helpdesk, no console token). */
async function mount(channel: ChannelInstance, runtime: Runtime): Promise<FastifyInstance> {
  const noHelpdesk: HelpdeskInstance = {
    kind: 'none',
    upsertRequester: () => Promise.reject(new Error('no helpdesk in the channel contract')),
    createTicket: () => Promise.reject(new Error('no helpdesk in the channel contract')),
    appendMessage: () => Promise.reject(new Error('no helpdesk in the channel contract')),
    addPrivateNote: () => Promise.reject(new Error('no helpdesk in the channel contract')),
    addTags: () => Promise.reject(new Error('no helpdesk in the channel contract')),
    verifyAgentEvent: async () => ({ ok: false, status: 404, error: 'no helpdesk in the channel contract' }),
    listAgentReplies: async () => [],
    fetchAttachment: () => Promise.reject(new Error('no helpdesk in the channel contract')),
  };
  return buildApp({
    runtime,
    helpdesk: noHelpdesk,
    channels: [{ id: CHANNEL_ID, kind: 'contract', routes: channel.routes ?? [], status: () => channel.status?.() ?? { ready: true } }],
    metrics: createMetrics('none'),
    log: silent,
    bodyLimit: 1024 * 1024,
    admin: {
      helpdesk: { kind: 'none' },
      activity: new Activity(),
      role: 'all',
      testRules: () => {
        throw new Error('no rules in the channel contract');
      },
    },
  });
}
