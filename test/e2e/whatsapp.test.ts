import { describe, expect, it } from 'vitest';
import { PHONE_NUMBER_ID, failedStatus, signedWebhook, waChange, waMessage, waPayload } from '../fakes/graph-api-server.ts';
import type { FakeTicket } from '../fakes/zendesk-server.ts';
import { CREDENTIALS, withGateway, yaml } from '../fixtures/gateway.ts';
import { waitFor } from './harness.ts';

/**
 * WhatsApp Cloud API end to end: the real `switchboard start` process, a fake Graph API and a
 * fake Zendesk, both real HTTP servers. One gateway for the file; each test uses its own customers.
 */

const { appSecret: APP_SECRET, verifyToken: VERIFY_TOKEN } = CREDENTIALS.whatsapp;
const ZD_SECRET = CREDENTIALS.zendesk.webhookSecret;
const OTHER_NUMBER_ID = '106540352242999';
const DAY_AND_AN_HOUR_AGO = Date.now() - 25 * 3600 * 1000;

describe('WhatsApp Cloud API into Zendesk and back (real gateway process, fake Graph API)', () => {
  const t = withGateway({
    fakes: { graph: { phoneNumberIds: [PHONE_NUMBER_ID, OTHER_NUMBER_ID] }, zendesk: true },
    config: ({ dataDir }) => `
${yaml.base({ dataDir, publicUrl: 'http://127.0.0.1:8080', log: 'warn' })}
${yaml.zendesk()}
channels:
${yaml.whatsapp('whatsapp', PHONE_NUMBER_ID, '    maxFileBytes: 1048576\n    template: { name: support_reply, language: ru }')}
${yaml.whatsapp('wa-plain', OTHER_NUMBER_ID)}
`,
  });
  const graph = () => t.fakes.graph;
  const zd = () => t.fakes.zendesk;

  const deliver = (payload: object, channel = 'whatsapp', secret = APP_SECRET) => {
    const { body, headers } = signedWebhook(payload, secret);
    return t.gw.post(`/webhooks/${channel}`, body, headers);
  };
  const ticketOf = (channel: string, waId: string): FakeTicket | undefined => {
    const user = zd().users.find((u) => u.external_id === `${channel}:${waId}`);
    return user ? zd().tickets.find((t) => t.requester_id === user.id) : undefined;
  };
  const publicBodies = (t: FakeTicket) => t.comments.filter((c) => c.public).map((c) => c.body);
  const agentReply = async (ticket: FakeTicket, text: string, attachments?: { file_name: string; content_type: string; data: Buffer }[]) => {
    zd().addAgentComment(ticket.id, text, { attachments });
    const body = JSON.stringify({ ticket_id: String(ticket.id) });
    expect((await t.gw.post('/helpdesk/events', body, zd().signWebhook(body, ZD_SECRET))).status).toBe(200);
  };

  it('answers Meta\'s verification handshake only with the right verify token', async () => {
    const ok = await fetch(`${t.gw.url}/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=${VERIFY_TOKEN}&hub.challenge=1158201444`);
    expect(ok.status).toBe(200);
    expect(await ok.text()).toBe('1158201444');
    const wrong = await fetch(`${t.gw.url}/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=guess&hub.challenge=1158201444`);
    expect(wrong.status).toBe(403);
    expect(await wrong.text()).not.toContain('1158201444');
  });

  it('a signed batch of three messages from two customers makes two tickets with the right follow-ups; delivered again it changes nothing', async () => {
    const dilnoza = { waId: '998901110001', name: 'Dilnoza' };
    const azamat = { waId: '998901110002', name: 'Azamat' };
    const payload = waPayload([
      [waChange({
        contacts: [dilnoza, azamat],
        messages: [
          waMessage.text(dilnoza.waId, 'Вывод не пришёл уже 3 дня', 'wamid.BATCH-0001'),
          waMessage.text(azamat.waId, 'bonus not credited', 'wamid.BATCH-0002'),
        ],
      })],
      [waChange({ contacts: [dilnoza], messages: [waMessage.text(dilnoza.waId, 'ID 5512345, карта Humo', 'wamid.BATCH-0003')] })],
    ]);
    expect((await deliver(payload)).status).toBe(200);

    const first = await waitFor('both comments on Dilnoza\'s ticket', () => {
      const t = ticketOf('whatsapp', dilnoza.waId);
      return t && publicBodies(t).length === 2 ? t : undefined;
    });
    const second = await waitFor('Azamat\'s ticket', () => ticketOf('whatsapp', azamat.waId));
    expect(publicBodies(first)).toEqual(['Вывод не пришёл уже 3 дня', 'ID 5512345, карта Humo']);
    expect(publicBodies(second)).toEqual(['bonus not credited']);
    const requester = zd().users.find((u) => u.id === first.requester_id)!;
    expect(requester.name).toBe('Dilnoza');
    expect(requester.phone).toBe('+998901110001');

    // Meta retries for days: the same batch again is acknowledged and changes nothing.
    expect((await deliver(payload)).status).toBe(200);
    await t.settled();
    expect(zd().tickets.filter((t) => t.id === first.id || t.id === second.id)).toHaveLength(2);
    expect(zd().users.filter((u) => u.external_id?.startsWith('whatsapp:99890111000'))).toHaveLength(2);
    expect(publicBodies(first)).toHaveLength(2);
    expect(publicBodies(second)).toHaveLength(1);
  });

  it('a forged or unsigned payload is refused with 401 and nothing is stored', async () => {
    const payload = waPayload([[waChange({ contacts: [{ waId: '998901110003' }], messages: [waMessage.text('998901110003', 'forged', 'wamid.FORGED-1')] })]]);
    const forged = await deliver(payload, 'whatsapp', 'not-the-app-secret-0000000000000');
    expect(forged.status).toBe(401);
    const unsigned = await t.gw.post('/webhooks/whatsapp', payload);
    expect(unsigned.status).toBe(401);
    expect(forged.body).not.toContain(APP_SECRET);
    await t.settled();
    expect(ticketOf('whatsapp', '998901110003')).toBeUndefined();
  });

  it('an image reaches the ticket as an attachment; an oversize file and an expired media id are named in a private note', async () => {
    const waId = '998901110004';
    const photo = Buffer.from('\xff\xd8\xff\xe0 fake jpeg bytes of a payment receipt', 'latin1');
    graph().addMedia('media-photo-1', photo, 'image/jpeg');
    graph().addMedia('media-big-1', Buffer.alloc(2 * 1024 * 1024, 1), 'application/pdf');
    await deliver(waPayload([[waChange({ contacts: [{ waId, name: 'Malika' }], messages: [waMessage.image(waId, 'media-photo-1', 'wamid.IMG-1', 'чек об оплате')] })]]));
    const ticket = await waitFor('the ticket', () => ticketOf('whatsapp', waId));
    const comment = ticket.comments[0]!;
    expect(comment.body).toContain('чек об оплате');
    expect(comment.uploads).toHaveLength(1);
    expect(comment.uploads[0]!.data.equals(photo)).toBe(true);
    expect(comment.uploads[0]!.content_type).toBe('image/jpeg');

    await deliver(waPayload([[waChange({
      contacts: [{ waId }],
      messages: [
        waMessage.document(waId, 'media-big-1', 'wamid.DOC-BIG', 'statement.pdf'),
        waMessage.document(waId, 'media-gone-1', 'wamid.DOC-GONE', 'passport.pdf'),
      ],
    })]]));
    const big = await waitFor('the note about the big file', () => ticket.comments.find((c) => !c.public && c.body.includes('statement.pdf')));
    expect(big.body).toMatch(/2 MB.*1 MB/);
    const gone = await waitFor('the note about the missing media', () => ticket.comments.find((c) => !c.public && c.body.includes('passport.pdf')));
    expect(gone.body).toContain('Unsupported get request');
  });

  it("an agent's reply inside the window arrives as a message, its attachment uploaded to Meta; outside the window it goes as the template", async () => {
    const waId = '998901110005';
    await deliver(waPayload([[waChange({ contacts: [{ waId }], messages: [waMessage.text(waId, 'Не могу пройти верификацию', 'wamid.WIN-1')] })]]));
    const ticket = await waitFor('the ticket', () => ticketOf('whatsapp', waId));
    const pdf = Buffer.from('%PDF-1.4 verification guide');
    await agentReply(ticket, 'Здравствуйте! Пришлите фото паспорта.', [{ file_name: 'guide.pdf', content_type: 'application/pdf', data: pdf }]);
    const text = await waitFor('the text in WhatsApp', () => graph().sent.find((m) => m.to === waId && m.type === 'text'));
    expect(text.text).toBe('Здравствуйте! Пришлите фото паспорта.');
    const doc = await waitFor('the document in WhatsApp', () => graph().sent.find((m) => m.to === waId && m.type === 'document'));
    expect(doc.media?.data.equals(pdf)).toBe(true);
    expect((doc.body.document as { filename?: string }).filename).toBe('guide.pdf');
    expect(JSON.stringify(doc.body)).not.toContain('http'); // uploaded, not linked

    const late = '998901110006';
    await deliver(waPayload([[waChange({ contacts: [{ waId: late }], messages: [waMessage.text(late, 'Где мой выигрыш?', 'wamid.LATE-1', DAY_AND_AN_HOUR_AGO)] })]]));
    const lateTicket = await waitFor('the late ticket', () => ticketOf('whatsapp', late));
    await agentReply(lateTicket, 'Выигрыш зачислен.\nПроверьте баланс.');
    const template = await waitFor('the template in WhatsApp', () => graph().sent.find((m) => m.to === late));
    expect(template.type).toBe('template');
    expect(template.template).toEqual({ name: 'support_reply', language: 'ru', parameters: ['Выигрыш зачислен. Проверьте баланс.'] });
    await waitFor('the note saying so', () => lateTicket.comments.find((c) => !c.public && c.body.includes('template "support_reply"')));
  });

  it('outside the window without a template nothing is sent and the agent gets a private note', async () => {
    const waId = '998901110007';
    await deliver(waPayload([[waChange({
      phoneNumberId: OTHER_NUMBER_ID,
      contacts: [{ waId }],
      messages: [waMessage.text(waId, 'hello, anyone?', 'wamid.PLAIN-1', DAY_AND_AN_HOUR_AGO)],
    })]]), 'wa-plain');
    const ticket = await waitFor('the ticket', () => ticketOf('wa-plain', waId));
    await agentReply(ticket, 'Sorry for the wait!');
    const note = await waitFor('the private note', () => ticket.comments.find((c) => !c.public && c.body.includes('NOT sent')));
    expect(note.body).toMatch(/24-hour/);
    expect(note.body).toMatch(/no template is configured/);
    expect(graph().sent.filter((m) => m.to === waId)).toHaveLength(0);
  });

  /** Replies the gateway has recorded as sent on the WhatsApp channel (Meta reports a status only after its answer to the send). */
  const repliesDone = async () => {
    const text = await (await fetch(`${t.gw.url}/metrics`)).text();
    return text.split('\n').filter((l) => l.startsWith('switchboard_delivered_total{kind="reply",channel="whatsapp"')).reduce((n, l) => n + Number(l.split(' ').pop()), 0);
  };

  it('a failed status callback for a reply becomes a private note with Meta\'s error code and title', async () => {
    const waId = '998901110008';
    await deliver(waPayload([[waChange({ contacts: [{ waId }], messages: [waMessage.text(waId, 'ставка не рассчитана', 'wamid.ST-1')] })]]));
    const ticket = await waitFor('the ticket', () => ticketOf('whatsapp', waId));
    const before = await repliesDone();
    await agentReply(ticket, 'Ставка будет рассчитана после окончания матча.');
    const sent = await waitFor('the reply in WhatsApp', () => graph().sent.find((m) => m.to === waId));
    // Meta reports a status after its answer to the send; wait until the gateway has that answer recorded.
    await waitFor('the reply job to finish', async () => (await repliesDone()) > before);
    const status = failedStatus(sent.wamid, waId, { code: 131026, title: 'Message undeliverable', details: 'Unable to deliver message. Reasons can include: the recipient phone number is not a WhatsApp phone number.' });
    const payload = waPayload([[waChange({ statuses: [status] })]]);
    expect((await deliver(payload)).status).toBe(200);
    expect((await deliver(payload)).status).toBe(200);
    const note = await waitFor('the private note', () => ticket.comments.find((c) => !c.public && c.body.includes('131026')));
    expect(note.body).toContain('Message undeliverable');
    expect(note.body).toContain('Ставка будет рассчитана');
    await t.settled();
    expect(ticket.comments.filter((c) => c.body.includes('131026'))).toHaveLength(1);
  });

  it('131047 reported in a failed status after Meta accepted the reply: the template goes instead, once, and the next customer message opens the window again', async () => {
    const waId = '998901110009';
    await deliver(waPayload([[waChange({ contacts: [{ waId }], messages: [waMessage.text(waId, 'бонус не начислен', 'wamid.RE-1')] })]]));
    const ticket = await waitFor('the ticket', () => ticketOf('whatsapp', waId));
    const before = await repliesDone();
    await agentReply(ticket, 'Бонус начислен.\nПроверьте баланс.');
    const freeForm = await waitFor('the free-form reply in WhatsApp', () => graph().sent.find((m) => m.to === waId));
    expect(freeForm.type).toBe('text');
    await waitFor('the reply job to finish', async () => (await repliesDone()) > before);
    // Meta accepted the send, and then reports that the window was closed after all.
    const status = failedStatus(freeForm.wamid, waId, { code: 131047, title: 'Re-engagement message', details: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.' });
    for (let i = 0; i < 2; i++) expect((await deliver(waPayload([[waChange({ statuses: [status] })]]))).status).toBe(200);

    const template = await waitFor('the template in WhatsApp', () => graph().sent.find((m) => m.to === waId && m.type === 'template'));
    expect(template.template).toEqual({ name: 'support_reply', language: 'ru', parameters: ['Бонус начислен. Проверьте баланс.'] });
    const failed = await waitFor('the failure note', () => ticket.comments.find((c) => !c.public && c.body.includes('131047')));
    expect(failed.body).toContain('NOT delivered');
    expect(failed.body).toContain('goes again as the approved template "support_reply"');
    const sentAs = await waitFor('the template note', () => ticket.comments.find((c) => !c.public && c.body.includes('sent as the approved template')));
    expect(sentAs.body).toMatch(/error 131047\), although by the gateway's clock the customer last wrote \d+ minutes? ago/);
    expect(sentAs.body).not.toContain('0 hours ago');

    // Until the customer writes again, the next reply goes as the template straight away.
    await agentReply(ticket, 'Ещё вопрос?');
    await waitFor('the second template', () => graph().sent.filter((m) => m.to === waId && m.type === 'template').length === 2);
    expect(graph().sent.filter((m) => m.to === waId && m.type === 'text')).toHaveLength(1);
    // The status delivered twice sent one template for it.
    expect(graph().sent.filter((m) => m.to === waId && m.type === 'template' && m.template?.parameters[0] === 'Бонус начислен. Проверьте баланс.')).toHaveLength(1);

    // The customer answers: the window is open again, and replies are free-form.
    await deliver(waPayload([[waChange({ contacts: [{ waId }], messages: [waMessage.text(waId, 'спасибо', 'wamid.RE-2', Date.now() + 2000)] })]]));
    await waitFor('the answer on the ticket', () => ticket.comments.some((c) => c.public && c.body.includes('спасибо')));
    await agentReply(ticket, 'Рады помочь!');
    const last = await waitFor('the free-form reply', () => graph().sent.find((m) => m.to === waId && m.text === 'Рады помочь!'));
    expect(last.type).toBe('text');
  });

  it('131047 reported while the send is still on its way (its wamid not indexed yet): the template still goes instead, once', async () => {
    const waId = '998901110010';
    await deliver(waPayload([[waChange({ contacts: [{ waId }], messages: [waMessage.text(waId, 'где мой кешбэк?', 'wamid.RACE-1')] })]]));
    const ticket = await waitFor('the ticket', () => ticketOf('whatsapp', waId));
    // Meta has the reply but its answer (the wamid) has not reached the gateway yet when the status comes.
    const held = graph().holdSends();
    await agentReply(ticket, 'Кешбэк начислен.');
    const freeForm = await waitFor('the free-form reply at Meta', () => graph().sent.find((m) => m.to === waId));
    await waitFor('its answer held', () => held.held() > 0);
    const status = failedStatus(freeForm.wamid, waId, { code: 131047, title: 'Re-engagement message', details: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.' });
    for (let i = 0; i < 2; i++) expect((await deliver(waPayload([[waChange({ statuses: [status] })]]))).status).toBe(200);
    held.release();

    const template = await waitFor('the template in WhatsApp', () => graph().sent.find((m) => m.to === waId && m.type === 'template'));
    expect(template.template).toEqual({ name: 'support_reply', language: 'ru', parameters: ['Кешбэк начислен.'] });
    const failed = await waitFor('the failure note', () => ticket.comments.find((c) => !c.public && c.body.includes('131047')));
    expect(failed.body).toContain('the message "Кешбэк начислен." was NOT delivered');
    expect(failed.body).toContain('goes again as the approved template "support_reply"');
    await t.settled();
    expect(graph().sent.filter((m) => m.to === waId && m.type === 'template')).toHaveLength(1);
    expect(ticket.comments.filter((c) => !c.public && c.body.includes('NOT delivered'))).toHaveLength(1);
  });
});
