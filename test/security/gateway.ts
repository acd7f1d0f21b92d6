import { createHash, createHmac } from 'node:crypto';
import twilio from 'twilio';
import type { GatewayProcess } from '../e2e/harness.ts';
import type { FakeFreshdesk } from '../fakes/freshdesk-server.ts';
import { PHONE_NUMBER_ID, waChange, waMessage, waPayload, type FakeGraph } from '../fakes/graph-api-server.ts';
import { tgUpdate, type FakeTelegram } from '../fakes/telegram-server.ts';
import type { FakeTwilio } from '../fakes/twilio-server.ts';
import type { FakeUsedesk } from '../fakes/usedesk-server.ts';
import type { FakeZendesk } from '../fakes/zendesk-server.ts';
import { closeFakes, CREDENTIALS, fakeEnv, launchGateway, startFakes, yaml, type FakeServers } from '../fixtures/gateway.ts';

/**
 * The real gateway process with every connector kind that has an inbound HTTP route configured
 * (Telegram, WhatsApp Cloud, a web form, Twilio Voice, CTI, the generic webhook channel with
 * HMAC and Mango Office signatures, an on-premise one with private addresses allowed) in front
 * of one helpdesk (Usedesk, Zendesk, Freshdesk or the jsonl dry run), with fakes on 127.0.0.1.
 * Every route comes with what makes a request to it authentic, so hostile bodies can be sent
 * both unsigned and signed (the dangerous case: past the guard, into the parser and handler).
 * Email and WhatsApp Web have no inbound HTTP route; notifiers none at all.
 */

export type HelpdeskKind = 'usedesk' | 'zendesk' | 'freshdesk' | 'jsonl';

export const PUBLIC = 'https://support-gw.example.com';
const C = CREDENTIALS;
export const ACCOUNT = C.twilio.accountSid;
const CTI_TOKEN = 'cti-shared-secret-security-0001';
const CRM_SECRET = 'crm-signing-secret-security-0001';
const ONPREM_SECRET = 'onprem-shared-secret-security-01';
const MANGO_KEY = 'mango-key-security-0001';
const MANGO_SALT = 'mango-salt-security-0001';

export interface Encoded {
  contentType: string;
  raw: Buffer;
}

/** One inbound route, with what makes a request to it authentic. */
export interface Route {
  name: string;
  method: 'GET' | 'POST';
  /** Below the gateway's URL, e.g. `/webhooks/tg`. */
  path: string;
  /** A valid payload of this route (JSON object or form fields), for mutating. */
  sample(): Record<string, unknown>;
  /** The payload as bytes the way this route's sender sends them (and, for in-body secrets, with the secret). */
  encode(payload: unknown, signed: boolean): Encoded;
  /** The headers that make these bytes authentic; {} for a public route or an in-body secret. */
  sign(body: Encoded, path: string, signed: boolean): Record<string, string>;
}

export interface HostileGateway {
  gw: GatewayProcess;
  helpdesk: HelpdeskKind;
  routes: Route[];
  tg: FakeTelegram;
  graph: FakeGraph;
  tw: FakeTwilio;
  ud?: FakeUsedesk;
  zd?: FakeZendesk;
  fd?: FakeFreshdesk;
  /** Every ticket text the helpdesk holds (subject, comments, notes), for finding what arrived. */
  ticketTexts(): string[];
  send(route: Route, body: Encoded, o?: { signed?: boolean; query?: string; path?: string }): Promise<{ status: number; text: string }>;
  metrics(): Promise<Map<string, number>>;
  close(): Promise<void>;
}

const json = (payload: unknown): Encoded => ({ contentType: 'application/json', raw: Buffer.from(JSON.stringify(payload)) });
const form = (payload: unknown): Encoded => {
  const params = new URLSearchParams();
  if (typeof payload === 'object' && payload !== null) {
    for (const [k, v] of Object.entries(payload)) params.append(k, typeof v === 'string' ? v : JSON.stringify(v));
  }
  return { contentType: 'application/x-www-form-urlencoded', raw: Buffer.from(params.toString()) };
};
const hmacHex = (secret: string, raw: Buffer) => createHmac('sha256', secret).update(raw).digest('hex');
const asForm = (raw: Buffer): Record<string, string> => Object.fromEntries(new URLSearchParams(raw.toString('utf8')));

let sequence = 0;
const next = () => ++sequence;

function helpdeskYaml(kind: HelpdeskKind, fakes: Partial<FakeServers>, dir: string): string {
  switch (kind) {
    case 'usedesk':
      return yaml.usedesk(fakes.usedesk!.apiChannelId);
    case 'zendesk':
      return yaml.zendesk();
    case 'freshdesk':
      return yaml.freshdesk();
    case 'jsonl':
      return `helpdesk:\n  kind: jsonl\n  path: ${dir}/tickets.jsonl`;
  }
}

function configYaml(helpdesk: string, dataDir: string): string {
  return `
${yaml.base({ dataDir, publicUrl: PUBLIC, log: '${LOG_LEVEL:-warn}', delivery: '{ maxAttempts: 10, baseDelayMs: 100, maxDelayMs: 400, concurrency: 8 }' })}
${helpdesk}
channels:
${yaml.telegram('tg')}
${yaml.whatsapp('wa', PHONE_NUMBER_ID)}
  contact:
    kind: webform
    fields:
      email: { type: email }
      name: {}
      message: { required: true, maxLength: 1000000 }
      topic: { enum: [payments, verification, bonus, other] }
    rateLimit: { perMinute: 1000000 }
    files: { maxFiles: 2, maxFileBytes: 1048576 }
${yaml.twilio('phone', '    timeoutMs: 2000')}
  pbx:
    kind: cti
    auth: { mode: header, header: X-CTI-Token, secret: ${CTI_TOKEN} }
  crm:
    kind: webhook
    auth: { mode: hmac, header: X-CRM-Signature, secret: ${CRM_SECRET} }
    mapping:
      senderId: from
      text: text
      dedupeKey: id
      attachments: ["files[].url"]
    attachments: { timeoutMs: 2000 }
  onprem:
    kind: webhook
    auth: { mode: header, header: X-PBX-Token, secret: ${ONPREM_SECRET} }
    mapping:
      senderId: from
      text: text
      dedupeKey: id
      attachments: ["files[].url"]
    attachments: { hosts: [localhost], allowPrivateAddresses: true, timeoutMs: 1000 }
  mango:
    kind: webhook
    preset: mango
    auth: { mode: mango, apiKey: ${MANGO_KEY}, apiSalt: ${MANGO_SALT} }
`;
}

/** Every inbound route of the configured gateway, with its signer. */
function routesFor(helpdesk: HelpdeskKind): Route[] {
  const twilioRoute = (path: string): Route => ({
    name: `twilio${path || ' voice'}`,
    method: 'POST',
    path: `/webhooks/phone${path}`,
    sample: () => ({
      AccountSid: ACCOUNT, CallSid: `CA${next()}`, From: '+998901112233', To: '+998712000000', Direction: 'inbound',
      CallStatus: 'completed', ApiVersion: '2010-04-01', SequenceNumber: '2', CallDuration: '7',
      ...(path === '/recording' ? { RecordingSid: `RE${next()}`, RecordingUrl: 'https://api.twilio.com/r', RecordingStatus: 'completed' } : {}),
    }),
    encode: (p) => form(p),
    // Twilio signs the URL it was given (the public one) and the POST parameters.
    sign: (body, path, signed) => ({ 'x-twilio-signature': signed ? twilio.getExpectedTwilioSignature(C.twilio.authToken, `${PUBLIC}${path}`, asForm(body.raw)) : 'forged' }),
  });
  const routes: Route[] = [
    {
      name: 'telegram',
      method: 'POST',
      path: '/webhooks/tg',
      sample: () => tgUpdate.text(4200 + next(), 'Вывод не пришёл', { messageId: next() }) as Record<string, unknown>,
      encode: (p) => json(p),
      sign: (_b, _p, signed) => ({ 'x-telegram-bot-api-secret-token': signed ? C.telegram.secret : 'forged-secret-token' }),
    },
    {
      name: 'whatsapp-cloud',
      method: 'POST',
      path: '/webhooks/wa',
      sample: () => waPayload([[waChange({ contacts: [{ waId: '998901234567', name: 'Dilnoza' }], messages: [waMessage.text('998901234567', 'Salom', `wamid.${next()}`)] })]]) as Record<string, unknown>,
      encode: (p) => json(p),
      sign: (body, _p, signed) => ({ 'x-hub-signature-256': `sha256=${signed ? hmacHex(C.whatsapp.appSecret, body.raw) : '0'.repeat(64)}` }),
    },
    {
      name: 'webform',
      method: 'POST',
      path: '/forms/contact',
      sample: () => ({ email: 'player@example.com', name: 'Dilnoza', message: 'Вывод не пришёл', topic: 'payments', submissionId: `sub-${String(next()).padStart(8, '0')}` }),
      encode: (p) => json(p),
      sign: () => ({}),
    },
    twilioRoute(''),
    twilioRoute('/dial'),
    twilioRoute('/status'),
    twilioRoute('/recording'),
    twilioRoute('/transcription'),
    {
      name: 'cti',
      method: 'POST',
      path: '/webhooks/pbx',
      sample: () => ({ event: 'hangup', callId: `c-${next()}`, from: '+998901112233', to: '998712000000', direction: 'in', cause: 'noAnswer' }),
      encode: (p) => json(p),
      sign: (_b, _p, signed) => ({ 'x-cti-token': signed ? CTI_TOKEN : 'forged-token-000000' }),
    },
    {
      name: 'webhook (hmac)',
      method: 'POST',
      path: '/webhooks/crm',
      sample: () => ({ id: `e-${next()}`, from: 'player-77', text: 'Бонус не начислен' }),
      encode: (p) => json(p),
      sign: (body, _p, signed) => ({ 'x-crm-signature': signed ? hmacHex(CRM_SECRET, body.raw) : 'ab'.repeat(32) }),
    },
    {
      name: 'webhook (mango)',
      method: 'POST',
      path: '/webhooks/mango/events/summary',
      sample: () => ({ entry_id: `m-${next()}`, call_direction: 1, from: { number: '79001234567' }, to: { number: '74950000000' }, line_number: '74950000000', disconnect_reason: 1100, talk_time: 0 }),
      // Mango posts a form: the JSON document in `json`, signed inside the body.
      encode: (p, signed) => {
        const doc = typeof p === 'string' ? p : JSON.stringify(p);
        const sign = createHash('sha256').update(MANGO_KEY + doc + MANGO_SALT).digest('hex');
        return form({ vpbx_api_key: MANGO_KEY, sign: signed ? sign : '0'.repeat(64), json: doc });
      },
      sign: () => ({}),
    },
    helpdeskRoute(helpdesk),
  ];
  return routes;
}

function helpdeskRoute(kind: HelpdeskKind): Route {
  const base = { name: `helpdesk events (${kind})`, method: 'POST' as const, path: '/helpdesk/events' };
  switch (kind) {
    case 'usedesk':
      // The secret sits in the body: signing means putting the right one in.
      return {
        ...base,
        sample: () => ({ comment: { ticket_id: 1, from: 'user', type: 'public', message: 'Здравствуйте' } }),
        encode: (p, signed) => json(typeof p === 'object' && p !== null && !Array.isArray(p) ? { ...p, secret: signed ? C.usedesk.apiToken : 'forged' } : p),
        sign: () => ({}),
      };
    case 'zendesk':
      return {
        ...base,
        sample: () => ({ ticket_id: '1' }),
        encode: (p) => json(p),
        sign: (body, _p, signed) => {
          const timestamp = new Date().toISOString();
          const signature = createHmac('sha256', signed ? C.zendesk.webhookSecret : 'forged').update(timestamp).update(body.raw).digest('base64');
          return { 'x-zendesk-webhook-signature': signature, 'x-zendesk-webhook-signature-timestamp': timestamp };
        },
      };
    case 'freshdesk':
      return { ...base, sample: () => ({ ticket_id: '1' }), encode: (p) => json(p), sign: (_b, _p, signed) => ({ 'x-switchboard-secret': signed ? C.freshdesk.webhookSecret : 'forged' }) };
    case 'jsonl':
      return { ...base, sample: () => ({ ticket_id: '1' }), encode: (p) => json(p), sign: () => ({}) };
  }
}

export async function startHostileGateway(helpdesk: HelpdeskKind, env: Record<string, string> = {}): Promise<HostileGateway> {
  const channels = await startFakes({ telegram: true, graph: { phoneNumberIds: [PHONE_NUMBER_ID] }, twilio: true });
  const desk: Partial<FakeServers> = helpdesk === 'jsonl' ? {} : await startFakes({ [helpdesk]: true });
  const fakes = { ...channels, ...desk };
  const { telegram: tg, graph, twilio: tw } = channels;
  const { usedesk: ud, zendesk: zd, freshdesk: fd } = desk;
  const launched = await launchGateway(({ dir, dataDir }) => configYaml(helpdeskYaml(helpdesk, fakes, dir), dataDir), { ...fakeEnv(fakes), ...env }, 'switchboard-security-').catch(async (err: unknown) => {
    await closeFakes(fakes);
    throw err;
  });
  const { gw } = launched;

  return {
    gw,
    helpdesk,
    routes: routesFor(helpdesk),
    tg,
    graph,
    tw,
    ud,
    zd,
    fd,
    ticketTexts() {
      // Usedesk keeps comments as HTML: read them as text.
      if (ud) return ud.tickets.flatMap((t) => [t.subject, ...t.comments.map((c) => htmlText(c.message))]);
      if (zd) return zd.tickets.flatMap((t) => [t.subject ?? '', ...t.comments.map((c) => c.body)]);
      if (fd) return fd.tickets.flatMap((t) => [t.subject, t.description_text, ...t.conversations.map((c) => c.body_text)]);
      return [];
    },
    async send(route, body, o = {}) {
      const path = o.path ?? route.path;
      const signed = o.signed ?? true;
      const url = `${gw.url}${path}${o.query ?? ''}`;
      const headers = { 'content-type': body.contentType, ...route.sign(body, `${path}${o.query ?? ''}`, signed) };
      const res = await fetch(url, { method: route.method, headers, ...(route.method === 'POST' ? { body: new Uint8Array(body.raw) } : {}) });
      return { status: res.status, text: await res.text() };
    },
    async metrics() {
      const text = await (await fetch(`${gw.url}/metrics`)).text();
      const out = new Map<string, number>();
      for (const line of text.split('\n')) {
        const m = /^([a-z_]+(?:\{[^}]*\})?) ([0-9.e+-]+|NaN)$/.exec(line);
        if (m) out.set(m[1]!, Number(m[2]));
      }
      return out;
    },
    async close() {
      // A gateway whose event loop hangs cannot run its SIGTERM handler: it is killed after a grace period.
      await Promise.race([gw.stop(), new Promise((r) => setTimeout(r, 10_000))]);
      await gw.kill('SIGKILL');
      await launched.stop();
      await closeFakes(fakes);
    },
  };
}

function htmlText(html: string): string {
  const entities: Record<string, string> = { '&quot;': '"', '&amp;': '&', '&lt;': '<', '&gt;': '>', '&#39;': "'", '&#039;': "'" };
  return html.replace(/<\/p>|<br\s*\/?>/g, '\n').replace(/<[^>]*>/g, '').replace(/&quot;|&amp;|&lt;|&gt;|&#0?39;/g, (e) => entities[e]!);
}
