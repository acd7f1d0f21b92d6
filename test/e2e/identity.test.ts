import { beforeEach, describe, expect, it } from 'vitest';
import { signPlayerToken } from '../../src/core/identity/player-token.ts';
import { signedWebhook, waChange, waMessage, waPayload } from '../fakes/graph-api-server.ts';
import { tgUpdate } from '../fakes/telegram-server.ts';
import { twilioWebhook } from '../fakes/twilio-server.ts';
import type { FakeTicket, FakeZendesk } from '../fakes/zendesk-server.ts';
import { CREDENTIALS, withGateway, yaml } from '../fixtures/gateway.ts';
import { type GatewayProcess, waitFor } from './harness.ts';

/**
 * One player, one history: the real gateway process with Telegram, WhatsApp Cloud, Twilio, a CTI
 * PBX and a web form in front of a fake Zendesk. What an agent would see: one user per customer,
 * with every proven phone and email on it, and (join: open-ticket) one ticket.
 */

const TG_SECRET = CREDENTIALS.telegram.secret;
const LINK_SECRET = 'player-link-secret-0123456789abcdef';
const WA_APP_SECRET = CREDENTIALS.whatsapp.appSecret;
const WA_NUMBER = '1099000000001';
const { accountSid: ACCOUNT, authToken: TW_TOKEN } = CREDENTIALS.twilio;
const CTI_TOKEN = 'cti-shared-secret-identity-0123';
const PUBLIC = 'https://support-gw.example.com';

describe('one player, one history (real gateway process)', () => {
  // A fresh gateway and store for each test; a test whose name says per-channel runs with that join policy.
  const t = withGateway({
    fakes: { zendesk: true, telegram: true, graph: { phoneNumberIds: [WA_NUMBER] }, twilio: true },
    per: 'test',
    start: 'manual',
    env: { LOG_LEVEL: 'info', PLAYER_LINK_SECRET: LINK_SECRET, CTI_TOKEN },
    config: ({ dataDir }, join: 'open-ticket' | 'per-channel') => `
${yaml.base({ dataDir, publicUrl: PUBLIC, delivery: '{ maxAttempts: 20, baseDelayMs: 100, maxDelayMs: 1000, concurrency: 4 }' })}
identity: { defaultRegion: UZ, join: ${join} }
${yaml.zendesk('  fields: { player_id: 900001 }')}
channels:
${yaml.telegram('telegram', '    playerLinkSecret: ${PLAYER_LINK_SECRET}')}
${yaml.whatsapp('whatsapp', WA_NUMBER)}
${yaml.twilio('phone', "    dial:\n      to: [{ to: '+998712000101', agent: Alice }]")}
  pbx:
    kind: cti
    auth: { mode: header, header: X-CTI-Token, secret: "\${CTI_TOKEN}" }
  site:
    kind: webform
    fields:
      email: { type: email }
      phone: {}
      player: {}
      message: { required: true }
    mapping: { playerId: player }
`,
  });
  let zd: FakeZendesk;
  let gw: GatewayProcess;
  let updateId = 1;
  let messageId = 100;
  beforeEach(async (ctx) => {
    zd = t.fakes.zendesk;
    gw = await t.start(ctx.task.name.includes('per-channel') ? 'per-channel' : 'open-ticket');
  });

  const telegram = (update: object) => gw.post('/webhooks/telegram', update, { 'x-telegram-bot-api-secret-token': TG_SECRET });
  const tgText = (userId: number, text: string) => telegram(tgUpdate.text(userId, text, { updateId: updateId++, messageId: messageId++, firstName: `Player${userId}` }));
  const ownContact = (userId: number, phone: string) =>
    telegram(tgUpdate.contact(userId, { phone, firstName: `Player${userId}`, userId }, { updateId: updateId++, messageId: messageId++, firstName: `Player${userId}` }));
  const whatsapp = (waId: string, text: string, wamid: string) => {
    const { body, headers } = signedWebhook(waPayload([[waChange({ contacts: [{ waId, name: 'Azamat' }], messages: [waMessage.text(waId, text, wamid)], phoneNumberId: WA_NUMBER })]]), WA_APP_SECRET);
    return gw.post('/webhooks/whatsapp', body, headers);
  };
  /** A missed Twilio call: the call rings, the Dial finds no agent, the call ends. */
  const twilioMissedCall = async (sid: string, from: string) => {
    const params = { AccountSid: ACCOUNT, CallSid: sid, From: from, To: '+998712000000', Direction: 'inbound', ApiVersion: '2010-04-01' };
    for (const [path, extra] of [['', { CallStatus: 'ringing' }], ['/dial', { CallStatus: 'in-progress', DialCallStatus: 'no-answer' }], ['/status', { CallStatus: 'no-answer', SequenceNumber: '3' }]] as const) {
      const url = `/webhooks/phone${path}`;
      const signed = twilioWebhook(TW_TOKEN, `${PUBLIC}${url}`, { ...params, ...extra });
      const res = await fetch(`${gw.url}${url}`, { method: 'POST', body: signed.body, headers: signed.headers });
      expect(res.status).toBe(200);
    }
  };
  const ctiMissedCall = async (callId: string, from: string) => {
    for (const event of ['newCall', 'hangup']) {
      const res = await gw.post('/webhooks/pbx', { event, callId, from, to: '998712000000', direction: 'in', cause: 'noAnswer' }, { 'x-cti-token': CTI_TOKEN });
      expect(res.status).toBe(200);
    }
  };
  const form = (fields: Record<string, string>) => gw.post('/forms/site', fields);
  const endUsers = () => zd.users.filter((u) => u.role === 'end-user');
  const commentsWith = (t: FakeTicket, text: string) => t.comments.filter((c) => c.body.includes(text));
  const playerField = (t: FakeTicket) => t.custom_fields.find((f) => String(f.id) === '900001')?.value;

  it('a Telegram chat, a WhatsApp number and a Twilio call from the same phone: one helpdesk user and one ticket', async () => {
    expect((await tgText(501, 'Вывод не пришёл уже 3 дня')).status).toBe(200);
    const ticket = await waitFor('the Telegram ticket', () => zd.tickets[0]);
    expect((await ownContact(501, '998901234567')).status).toBe(200);
    // The shared own contact is a follow-up: it sets the phone on the requester.
    await waitFor('the phone on the requester', () => zd.identitiesOf(ticket.requester_id).some((i) => i.value === '+998901234567'));

    expect((await whatsapp('998901234567', 'Скриншот отправил в WhatsApp', 'wamid.ID-0001')).status).toBe(200);
    await waitFor('the WhatsApp message on the same ticket', () => commentsWith(ticket, 'Скриншот отправил в WhatsApp').length === 1);
    await twilioMissedCall('CA-ID-0001', '+998901234567');
    await waitFor('the missed call on the same ticket', () => commentsWith(ticket, 'Missed call from +998901234567').length === 1);

    expect(zd.tickets).toHaveLength(1);
    expect(endUsers()).toHaveLength(1);
    expect(ticket.comments.filter((c) => c.public).every((c) => c.author_id === ticket.requester_id)).toBe(true);
    // The agents are told where each joined message came from (a note written just after the message).
    await waitFor('the WhatsApp note', () => commentsWith(ticket, 'came in on whatsapp (whatsapp-cloud, messenger) from the same customer').length === 1);
    await waitFor('the call note', () => commentsWith(ticket, 'came in on phone (twilio-voice, phone) from the same customer').length === 1);
  });

  it('per-channel: the same three make one helpdesk user and three tickets', async () => {
    await tgText(502, 'Вывод не пришёл');
    await waitFor('the Telegram ticket', () => zd.tickets.length === 1);
    await ownContact(502, '+998 90 765-43-21');
    await waitFor('the phone on the requester', () => zd.identitiesOf(zd.tickets[0]!.requester_id).length > 0);
    await whatsapp('998907654321', 'Пишу из WhatsApp', 'wamid.ID-0002');
    await twilioMissedCall('CA-ID-0002', '+998907654321');
    await waitFor('three tickets', () => zd.tickets.length === 3);
    expect(new Set(zd.tickets.map((t) => t.requester_id)).size).toBe(1);
    expect(endUsers()).toHaveLength(1);
  });

  it('numbers in three formats are one identity: the CTI PBX and Twilio make one user and one ticket', async () => {
    // The form's phone is typed (a claim), so the form's own ticket stands apart; the calls are the caller's.
    await ctiMissedCall('cti-0001', '998901112233');
    const ticket = await waitFor('the CTI ticket', () => zd.tickets[0]);
    await twilioMissedCall('CA-ID-0003', '+998 90 111-22-33');
    await waitFor('the Twilio call on the same ticket', () => commentsWith(ticket, 'Missed call from +998901112233').length === 2);
    await ctiMissedCall('cti-0002', '90 111 22 33');
    await waitFor('the national-format call on the same ticket', () => ticket.comments.filter((c) => c.body.startsWith('Missed call')).length === 3);
    expect(zd.tickets).toHaveLength(1);
    expect(endUsers()).toHaveLength(1);
  });

  it('a form with a player id and a Telegram /start with the same signed player id are one customer; a forged token links nothing', async () => {
    expect((await form({ email: 'p777@example.com', player: '777', message: 'Не могу пройти верификацию' })).status).toBeLessThan(300);
    const ticket = await waitFor('the form ticket', () => zd.tickets[0]);
    expect(playerField(ticket)).toBe('777');

    // A forged token (signed with another secret) and an expired one: nothing is linked, a ticket of their own.
    const forged = signPlayerToken('777', 'not-the-operators-secret-0000', new Date(Date.now() + 3600_000));
    await tgText(601, `/start ${forged}`);
    const other = await waitFor('the forged /start ticket', () => zd.tickets.find((t) => t.id !== ticket.id));
    expect(other.comments[0]!.body).toContain('player token was refused: the signature does not match');
    expect(other.comments[0]!.body).not.toContain(forged);
    expect(playerField(other)).toBeUndefined();
    const expired = signPlayerToken('777', LINK_SECRET, new Date(Date.now() - 1000));
    await tgText(602, `/start ${expired}`);
    await waitFor('the expired /start ticket', () => zd.tickets.some((t) => t.comments.some((c) => c.body.includes('the token has expired'))));

    // The valid one: the Telegram user joins the player's ticket, as the player's one user.
    const valid = signPlayerToken('777', LINK_SECRET, new Date(Date.now() + 3600_000));
    expect(valid.length).toBeLessThanOrEqual(64);
    await tgText(603, `/start ${valid}`);
    await waitFor('the /start on the form ticket', () => commentsWith(ticket, 'signed in as player 777').length === 1);
    await tgText(603, 'Документы отправил');
    await waitFor('the next Telegram message on the same ticket', () => commentsWith(ticket, 'Документы отправил').length === 1);
    expect(zd.tickets).toHaveLength(3);
    const requester = zd.users.find((u) => u.id === ticket.requester_id)!;
    expect(requester.external_id).toBe('777');
    expect(ticket.comments.filter((c) => c.public).every((c) => c.author_id === requester.id)).toBe(true);
  });

  it('two players sharing a family phone never join: a typed phone links nothing, and a phone both prove links neither', async () => {
    const family = '+998905550000';
    // Two players write through the form with the same typed phone: two customers, two tickets.
    await form({ email: 'mother@example.com', player: '1001', phone: family, message: 'Пополнение не прошло' });
    await form({ email: 'son@example.com', player: '1002', phone: family, message: 'Бонус не начислен' });
    await waitFor('two form tickets', () => zd.tickets.length === 2);
    const [mother, son] = [zd.tickets.find((t) => playerField(t) === '1001')!, zd.tickets.find((t) => playerField(t) === '1002')!];
    expect(mother.requester_id).not.toBe(son.requester_id);
    // A call from the family phone is nobody's yet: its own ticket.
    await twilioMissedCall('CA-FAMILY-1', family);
    await waitFor('the call ticket', () => zd.tickets.length === 3);

    // Both players sign in to Telegram and share the family phone as their own contact.
    await tgText(701, `/start ${signPlayerToken('1001', LINK_SECRET, new Date(Date.now() + 3600_000))}`);
    await waitFor('the mother\'s /start on her ticket', () => commentsWith(mother, 'signed in as player 1001').length === 1);
    await ownContact(701, family);
    await waitFor('the mother\'s contact on her ticket', () => commentsWith(mother, 'Contact (their own number)').length === 1);
    await tgText(702, `/start ${signPlayerToken('1002', LINK_SECRET, new Date(Date.now() + 3600_000))}`);
    await waitFor('the son\'s /start on his ticket', () => commentsWith(son, 'signed in as player 1002').length === 1);
    await ownContact(702, family);
    await waitFor('the note that the phone is shared', () => son.comments.some((c) => !c.public && /proven by players 1001 and 1002; it now links neither/.test(c.body)));

    // The next call from that phone joins neither player's ticket, and says why.
    const before = zd.tickets.length;
    await twilioMissedCall('CA-FAMILY-2', family);
    await waitFor('the second call', () => zd.tickets.some((t) => t.comments.filter((c) => c.body.startsWith('Missed call')).length === 2) || zd.tickets.length > before);
    const withCalls = zd.tickets.filter((t) => t.comments.some((c) => c.body.startsWith('Missed call')));
    expect(withCalls.every((t) => t.id !== mother.id && t.id !== son.id)).toBe(true);
    expect(mother.requester_id).not.toBe(son.requester_id);
  });
});
