import { describe, expect, it } from 'vitest';
import { planQuestion } from '../../connectors/channels/whatsapp-cloud/send.ts';
import type { AttemptContext, Capability, ChannelInstance, Conversation, HelpdeskInstance, Medium, RatingInput, ReplyToSend } from '../../src/core/connector.ts';
import { choiceId, parseChoice, parseScoreText } from '../../src/core/csat/answer.ts';
import { createCsat } from '../../src/core/csat/csat.ts';
import { checkLinkToken, linkToken } from '../../src/core/csat/link-token.ts';
import { CsatOptions } from '../../src/core/csat/options.ts';
import { nextAllowed } from '../../src/core/csat/quiet-hours.ts';
import { NotYet } from '../../src/core/errors.ts';
import { newId } from '../../src/core/ids.ts';
import type { ConversationEvent, Link, NewJob } from '../../src/core/jobs.ts';
import type { NormalizedMessage } from '../../src/core/message.ts';
import type { ChannelEntry } from '../../src/core/pipeline.ts';
import { memoryKv } from '../../src/runtime/memory-kv.ts';
import { ticketsBeingLinked } from '../../src/core/linking.ts';
import { silent } from '../fixtures/log.ts';

const QID = '01JCSAT0000000000000000000';
const SECRET = 'a-link-secret-of-at-least-32-characters!';

describe('typed answers and button ids', () => {
  it('a typed rating is one digit 1–5, optionally out of 5, or a keycap digit', () => {
    for (const [text, score] of [['5', 5], [' 4 ', 4], ['3/5', 3], ['2 из 5', 2], ['1 of 5', 1], ['4.', 4], ['5!', 5], ['3️⃣', 3], ['4 dan 5', 4]] as const) {
      expect(parseScoreText(text), text).toBe(score);
    }
    for (const text of ['0', '6', '10', '99', '5 stars, thanks', 'пять', '', '1 2', '5'.repeat(20)]) expect(parseScoreText(text), text).toBeUndefined();
  });

  it('a button id names a question (a ULID) and a score 1–5, nothing else', () => {
    expect(parseChoice(choiceId(QID, 4))).toEqual({ questionId: QID, score: 4 });
    for (const bad of [`csat:${QID}:9`, `csat:${QID}:0`, 'csat:__proto__:5', 'csat:constructor:1', `csat:${QID.toLowerCase()}:5`, `${choiceId(QID, 5)}x`, `csat:${QID}:5${' '.repeat(60)}`]) {
      expect(parseChoice(bad), bad).toBeUndefined();
    }
  });
});

describe('signed email links', () => {
  const now = Date.UTC(2025, 0, 10, 12, 0, 0);
  const token = linkToken(SECRET, { questionId: QID, score: 2, expiresAt: now / 1000 + 3600 });

  it('a link says its question and score until it expires', () => {
    expect(checkLinkToken(SECRET, token, now)).toEqual({ ok: true, claims: { questionId: QID, score: 2, expiresAt: now / 1000 + 3600 } });
    expect(checkLinkToken(SECRET, token, now + 3601_000)).toEqual({ ok: false, reason: 'expired' });
  });

  it('a link changed in any part, or signed with another secret, is forged', () => {
    const [q, , exp, sig] = token.split('.');
    expect(checkLinkToken(SECRET, `${q}.5.${exp}.${sig}`, now)).toEqual({ ok: false, reason: 'forged' });
    expect(checkLinkToken(SECRET, `01JCSAT0000000000000000001.2.${exp}.${sig}`, now)).toEqual({ ok: false, reason: 'forged' });
    expect(checkLinkToken(SECRET, `${q}.2.${Number(exp) + 86400}.${sig}`, now)).toEqual({ ok: false, reason: 'forged' });
    expect(checkLinkToken(`${SECRET}x`, token, now)).toEqual({ ok: false, reason: 'forged' });
  });

  it('a score of 99, a missing part or junk is malformed, even when signed', () => {
    const ninetyNine = linkToken(SECRET, { questionId: QID, score: 99, expiresAt: now / 1000 + 3600 });
    expect(checkLinkToken(SECRET, ninetyNine, now)).toEqual({ ok: false, reason: 'malformed' });
    for (const bad of ['', 'x', token.slice(0, -1), `${token}.extra`, '__proto__', 'a'.repeat(2000)]) {
      expect(checkLinkToken(SECRET, bad, now).ok, bad.slice(0, 20)).toBe(false);
    }
  });
});

describe('quiet hours', () => {
  // 2025-01-10 is a Friday; Tashkent is UTC+5.
  const at = (h: number, m = 0) => new Date(Date.UTC(2025, 0, 10, h - 5, m));
  const quiet = { from: '22:00', to: '09:00' };

  it('outside the quiet hours the question goes now; inside, at their end (wrapping past midnight)', () => {
    expect(nextAllowed(at(15), { notBefore: 0, quiet, timezone: 'Asia/Tashkent' })).toBe(at(15).getTime());
    expect(nextAllowed(at(23, 30), { notBefore: 0, quiet, timezone: 'Asia/Tashkent' })).toBe(at(33).getTime());
    expect(nextAllowed(at(3, 15), { notBefore: 0, quiet, timezone: 'Asia/Tashkent' })).toBe(at(9).getTime());
    expect(nextAllowed(at(9), { notBefore: 0, quiet, timezone: 'Asia/Tashkent' })).toBe(at(9).getTime());
  });

  it('a delay that ends inside the quiet hours waits for their end', () => {
    expect(nextAllowed(at(21, 59), { notBefore: at(22, 1).getTime(), quiet, timezone: 'Asia/Tashkent' })).toBe(at(33).getTime());
    expect(nextAllowed(at(12), { notBefore: at(12, 2).getTime(), timezone: 'Asia/Tashkent' })).toBe(at(12, 2).getTime());
  });
});

describe('WhatsApp: the question inside and outside the 24-hour window', () => {
  const choices = { options: [1, 2, 3, 4, 5].map((n) => ({ id: choiceId(QID, n), label: `${n} ⭐` })), menu: 'Baholash', language: 'uz' };
  const now = new Date();
  const template = { name: 'csat_rating', languages: { ru: 'ru', en: 'en_US' } };

  it('inside: one list message with five rows (reply buttons stop at three)', () => {
    const plan = planQuestion({ text: 'Baholang', choices }, { open: true }, template, now);
    expect(plan).toEqual({ parts: [{ kind: 'list', body: 'Baholang', choices }], notes: [] });
  });

  it("outside: the approved template in the customer's language (else the first), the choices as quick-reply payloads, and a note", () => {
    const closed = { open: false, lastInboundAt: new Date(now.getTime() - 30 * 3_600_000) };
    const plan = planQuestion({ text: 'Baholang', choices }, closed, template, now);
    expect(plan.parts).toEqual([{ kind: 'template', template: { name: 'csat_rating', language: 'ru', replyParameter: false }, quickReplies: choices.options.map((o) => o.id) }]);
    expect(plan.notes[0]).toMatch(/template "csat_rating" \(ru\).*30 hours ago/);
    expect(planQuestion({ text: 'Rate', choices: { ...choices, language: 'en' } }, closed, template, now).parts[0]).toMatchObject({ template: { language: 'en_US' } });
    const none = planQuestion({ text: 'Baholang', choices }, closed, undefined, now);
    expect(none.parts).toEqual([]);
    expect(none.notes[0]).toMatch(/NOT sent.*no questionTemplate/);
  });
});

// ---------------------------------------------------------------- the flow, with the runtime's promises kept in memory

interface Sent {
  channel: string;
  to: Conversation;
  reply: ReplyToSend;
}

function world(opts: Record<string, unknown> = {}, channelSpec: Record<string, { medium: Medium; sends: Capability[] }> = {}) {
  let clock = Date.UTC(2025, 0, 10, 10, 0); // 15:00 in Tashkent
  const kv = memoryKv({ now: () => clock });
  const linking = ticketsBeingLinked(kv, () => clock);
  const skipped: { channel: string; reason: string }[] = [];
  const links = new Map<string, Link>();
  const ledger = new Set<string>();
  const queue: NewJob[] = [];
  const sent: Sent[] = [];
  const ratings: { ticketId: string; rating: RatingInput }[] = [];
  const notes: { ticketId: string; text: string }[] = [];
  const path: { key: string; event: ConversationEvent }[] = [];
  const spec = { telegram: { medium: 'messenger' as Medium, sends: ['text', 'buttons'] as Capability[] }, ...channelSpec };
  const channels = new Map<string, ChannelEntry>();
  for (const [id, c] of Object.entries(spec)) {
    const instance: ChannelInstance = {
      async send(to, reply) {
        sent.push({ channel: id, to, reply });
        return { externalIds: [`m${sent.length}`] };
      },
      async fetchAttachment() {
        throw new Error('no files here');
      },
    };
    channels.set(id, { kind: id, medium: c.medium, sends: c.sends, instance });
  }
  const helpdesk = {
    kind: 'test',
    async recordRating(ticketId: string, rating: RatingInput) {
      ratings.push({ ticketId, rating });
    },
    async addPrivateNote(ticketId: string, text: string) {
      notes.push({ ticketId, text });
    },
  } as unknown as HelpdeskInstance;
  const csat = createCsat({
    options: CsatOptions.parse({ channels: { telegram: {} }, delaySeconds: 0, linkSecret: SECRET, ...opts }),
    kv,
    links: {
      get: async (k) => links.get(k),
      byTicket: async (t) => [...links.values()].find((l) => l.ticketId === t),
      put: async (l) => void links.set(l.conversationKey, l),
    },
    channels,
    helpdesk,
    enqueue: async (jobs) => jobs.map((j) => {
      const duplicate = ledger.has(j.dedupeKey);
      if (!duplicate) {
        ledger.add(j.dedupeKey);
        queue.push(j);
      }
      return { id: j.dedupeKey, dedupeKey: j.dedupeKey, duplicate };
    }),
    timezone: 'Asia/Tashkent',
    defaultLanguage: 'en',
    publicUrl: 'https://gw.example.com',
    history: { record: async (key, event) => void path.push({ key, event }) },
    log: silent,
    now: () => new Date(clock),
    linking,
    events: { skipped: (channel, reason) => void skipped.push({ channel, reason }) },
  });
  const ctx: AttemptContext = { attempt: 1, reconcile: false, idempotencyKey: 'k' };
  /** Runs queued csat jobs and notes until none are left (a NotYet one is returned). */
  async function drain(): Promise<NotYet | undefined> {
    while (queue.length > 0) {
      const job = queue.shift()!;
      const p = job.payload;
      if (p.kind === 'note') notes.push({ ticketId: p.ticketId, text: p.text });
      else if (p.kind === 'csat') {
        try {
          await csat.run(p.csat, { ...ctx, idempotencyKey: job.dedupeKey });
        } catch (err) {
          if (err instanceof NotYet) {
            queue.unshift(job);
            return err;
          }
          throw err;
        }
      }
    }
    return undefined;
  }
  function link(ticketId: string, chat: string, sender: Link['conversation']['sender'] = { externalId: chat }, channelId = 'telegram'): void {
    const key = `${channelId}:${chat}`;
    links.set(key, { conversationKey: key, channelId, ticketId, requesterId: `r-${chat}`, conversation: { channelId, externalId: chat, sender }, createdAt: clock, firedRules: [] });
  }
  function message(chat: string, text: string, extra: Partial<NormalizedMessage> = {}, channelId = 'telegram'): NormalizedMessage {
    return {
      id: newId(), channel: { id: channelId, kind: channelId }, kind: 'message', externalId: newId(), dedupeKey: newId(),
      conversation: { externalId: chat }, sender: { externalId: chat }, text, attachments: [], occurredAt: new Date(clock).toISOString(),
      receivedAt: new Date(clock).toISOString(), meta: {}, ...extra,
    };
  }
  return { csat, kv, linking, skipped, sent, ratings, notes, path, queue, drain, link, message, tick: (ms: number) => (clock += ms), now: () => clock };
}

const decision = (tags: string[] = [], group?: string) => ({ tags, fields: {}, replies: [], notify: [], firedRules: [], ...(group ? { group } : {}) });

describe('the rating flow', () => {
  it('asks once per ticket with buttons, takes one rating however often it is pressed, thanks a good score', async () => {
    const w = world();
    w.link('T1', '42');
    await w.csat.remember('T1', { channelId: 'telegram', conversationKey: 'telegram:42', decision: decision(['payments'], 'payments'), language: 'ru' });
    await w.csat.solved([{ ticketId: 'T1' }]);
    await w.csat.solved([{ ticketId: 'T1' }]);
    await w.drain();
    expect(w.sent).toHaveLength(1);
    const question = w.sent[0]!.reply;
    expect(question.text).toMatch(/оцените/);
    expect(question.choices?.options.map((o) => o.label)).toEqual(['1 ⭐', '2 ⭐', '3 ⭐', '4 ⭐', '5 ⭐']);
    const press = (score: number) => w.message('42', '[pressed a button]', { kind: 'event', choice: question.choices!.options[score - 1]!.id });
    expect(await w.csat.intercept([press(5)])).toBe(true);
    expect(await w.csat.intercept([press(5)])).toBe(true);
    expect(await w.csat.intercept([press(1)])).toBe(true);
    await w.drain();
    expect(w.ratings).toEqual([{ ticketId: 'T1', rating: expect.objectContaining({ score: 5, tags: ['csat_5'], requesterId: 'r-42' }) }]);
    expect(w.sent.map((s) => s.reply.text)).toEqual([question.text, 'Спасибо за оценку!']);
    // Solved again later (reopened and solved): never asked twice.
    await w.csat.solved([{ ticketId: 'T1' }]);
    await w.drain();
    expect(w.sent).toHaveLength(2);
  });

  it('a low score asks what to do better; the next message becomes a private note, not a customer message', async () => {
    const w = world();
    w.link('T2', '43');
    await w.csat.solved([{ ticketId: 'T2' }]);
    await w.drain();
    expect(await w.csat.intercept([w.message('43', ' 2 ')])).toBe(true);
    await w.drain();
    expect(w.ratings[0]!.rating.score).toBe(2);
    expect(w.sent.at(-1)!.reply.text).toMatch(/done better/);
    const long = 'Очень долго ждал ответа. '.repeat(200);
    expect(await w.csat.intercept([w.message('43', long)])).toBe(true);
    await w.drain();
    const note = w.notes.find((n) => n.text.includes('what could we do better'))!;
    expect(note.ticketId).toBe('T2');
    expect(note.text).toContain('after rating 2/5');
    expect(note.text.length).toBeLessThan(2300);
    expect(note.text).toMatch(/shortened: \d+ characters in all/);
    // The question is answered: the next message is an ordinary one again.
    expect(await w.csat.intercept([w.message('43', 'ещё вопрос по бонусу')])).toBe(false);
    // The console's path of the conversation shows the question and the rating.
    expect(w.path.map((p) => [p.key, p.event.kind, p.event.ticketId, p.event.text])).toEqual([
      ['telegram:43', 'question', 'T2', expect.stringMatching(/^on telegram \(buttons 1–5\): \S/)],
      ['telegram:43', 'rating', 'T2', '2/5 by typing it; asked what could be better'],
    ]);
  });

  it('refuses presses for another conversation or an unknown question, and ignores text that is not a score', async () => {
    const w = world();
    w.link('T3', '44');
    w.link('T4', '45');
    await w.csat.solved([{ ticketId: 'T3' }, { ticketId: 'T4' }]);
    await w.drain();
    const forT3 = w.sent.find((s) => s.to.externalId === '44')!.reply.choices!.options[0]!.id;
    expect(await w.csat.intercept([w.message('45', '[pressed a button]', { kind: 'event', choice: forT3 })])).toBe(true);
    expect(await w.csat.intercept([w.message('45', '[pressed a button]', { kind: 'event', choice: choiceId('01JCSAT9999999999999999999', 5) })])).toBe(true);
    expect(await w.csat.intercept([w.message('45', '[pressed a button]', { kind: 'event', choice: '{"__proto__":{"x":1}}' })])).toBe(true);
    expect(await w.csat.intercept([w.message('45', 'спасибо, всё получил')])).toBe(false);
    await w.drain();
    expect(w.ratings).toEqual([]);
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('a ticket solved while the gateway is creating it waits for its link; one the gateway never made is left alone at once', async () => {
    const w = world();
    // T11's delivery has the ticket and is not recorded yet; T12 is not a gateway ticket.
    await w.linking.mark('T11');
    await w.csat.solved([{ ticketId: 'T12' }, { ticketId: 'T11' }]);
    const wait = await w.drain();
    expect(wait).toBeInstanceOf(NotYet);
    expect(w.skipped).toEqual([{ channel: 'unknown', reason: 'no_conversation' }]);
    w.link('T11', '51');
    w.tick(wait!.until - w.now());
    expect(await w.drain()).toBeUndefined();
    expect(w.sent.map((s) => s.to.externalId)).toEqual(['51']);
  });

  it('a ticket whose delivery died before it was recorded is left alone once its mark expires', async () => {
    const w = world();
    await w.linking.mark('T14');
    await w.csat.solved([{ ticketId: 'T14' }]);
    let waits = 0;
    for (let wait = await w.drain(); wait; wait = await w.drain()) {
      waits++;
      w.tick(wait.until - w.now());
    }
    // A few looks, further apart each time, then skipped.
    expect(waits).toBeGreaterThan(0);
    expect(waits).toBeLessThan(40);
    expect(w.skipped).toEqual([{ channel: 'unknown', reason: 'no_conversation' }]);
    expect(w.sent).toEqual([]);
  });

  it('with no channel opted in, nothing is asked and a stray button press is dropped, not turned into a ticket', async () => {
    const w = world({ channels: {} });
    w.link('T13', '52');
    await w.csat.solved([{ ticketId: 'T13' }]);
    await w.drain();
    expect(w.sent).toEqual([]);
    expect(await w.csat.intercept([w.message('52', '[pressed a button]', { kind: 'event', choice: choiceId(QID, 5) })])).toBe(true);
    expect(await w.csat.intercept([w.message('52', 'Promo', { choice: 'promo-yes' })])).toBe(false);
    expect(await w.csat.intercept([w.message('52', '5')])).toBe(false);
  });

  it('waits for the quiet hours to end and for the delay after solved', async () => {
    const w = world({ quietHours: { from: '14:00', to: '16:30' }, delaySeconds: 60 });
    w.link('T5', '46');
    await w.csat.solved([{ ticketId: 'T5' }]);
    const wait = await w.drain();
    expect(wait).toBeInstanceOf(NotYet);
    expect(new Date(wait!.until).toISOString()).toBe('2025-01-10T11:30:00.000Z');
    expect(w.sent).toEqual([]);
    w.tick(wait!.until - w.now());
    expect(await w.drain()).toBeUndefined();
    expect(w.sent).toHaveLength(1);
  });

  it('never asks a customer whose ticket is marked responsible gaming (by a rule, or in the solved event), unless the admin says so', async () => {
    const w = world();
    w.link('T6', '47');
    w.link('T7', '48');
    await w.csat.remember('T6', { channelId: 'telegram', conversationKey: 'telegram:47', decision: decision(['responsible_gaming']), language: 'ru' });
    await w.csat.solved([{ ticketId: 'T6' }, { ticketId: 'T7', tags: ['Responsible_Gaming'] }]);
    await w.drain();
    expect(w.sent).toEqual([]);
    const asked = world({ responsibleGaming: { ask: true } });
    asked.link('T6', '47');
    await asked.csat.remember('T6', { channelId: 'telegram', conversationKey: 'telegram:47', decision: decision(['responsible_gaming']), language: 'ru' });
    await asked.csat.solved([{ ticketId: 'T6' }]);
    await asked.drain();
    expect(asked.sent).toHaveLength(1);
  });

  it('asks only on opted-in channels; a channel without buttons gets "reply with a number", and a typed number counts', async () => {
    const w = world({ channels: { telegram: {}, viber: {} } }, { viber: { medium: 'messenger', sends: ['text'] }, other: { medium: 'messenger', sends: ['text', 'buttons'] } });
    w.link('T8', '49', { externalId: '49' }, 'viber');
    w.link('T9', '50', { externalId: '50' }, 'other');
    await w.csat.solved([{ ticketId: 'T8' }, { ticketId: 'T9' }]);
    await w.drain();
    expect(w.sent).toHaveLength(1);
    expect(w.sent[0]!.reply.choices).toBeUndefined();
    expect(w.sent[0]!.reply.text).toMatch(/Reply with one number from 1 to 5/);
    expect(await w.csat.intercept([w.message('49', '4', {}, 'viber')])).toBe(true);
    await w.drain();
    expect(w.ratings[0]!.rating.score).toBe(4);
  });

  it("a web form's customer is asked by email with five signed links; GET shows, POST records once, with the comment as a note", async () => {
    const w = world({ channels: { contact: { via: 'mail' } }, lowScore: 3 }, { contact: { medium: 'form', sends: [] }, mail: { medium: 'email', sends: ['text', 'files'] } });
    w.link('T10', 'sub-1', { externalId: 'sub-1', email: 'player@example.com', displayName: 'Dilnoza' }, 'contact');
    await w.csat.solved([{ ticketId: 'T10' }]);
    await w.drain();
    expect(w.sent).toHaveLength(1);
    const mail = w.sent[0]!;
    expect(mail.channel).toBe('mail');
    expect(mail.to).toMatchObject({ channelId: 'mail', sender: { email: 'player@example.com' } });
    const urls = [...mail.reply.text.matchAll(/https:\/\/gw\.example\.com\/csat\/(\S+)/g)].map((m) => m[1]!);
    expect(urls).toHaveLength(5);
    expect(mail.reply.html).toContain(`href="https://gw.example.com/csat/${urls[1]}"`);
    expect(await w.csat.viewLink(urls[1]!)).toMatchObject({ ok: true, score: 2, askComment: true, already: false });
    expect(w.ratings).toEqual([]);
    expect(await w.csat.answerLink(urls[1]!, 'x'.repeat(2001))).toMatchObject({ ok: false, status: 400, problem: 'tooLong' });
    expect(await w.csat.answerLink(urls[1]!, 'The form took a week to get an answer')).toMatchObject({ ok: true, already: false });
    expect(await w.csat.answerLink(urls[1]!, 'again')).toMatchObject({ ok: true, already: true });
    expect(await w.csat.answerLink(urls[4]!, '')).toMatchObject({ ok: true, already: true });
    await w.drain();
    expect(w.ratings.map((r) => r.rating.score)).toEqual([2]);
    expect(w.notes.filter((n) => n.text.includes('a week'))).toHaveLength(1);
    expect(w.notes.some((n) => n.text.includes('again'))).toBe(false);
    // No chat message after a link: the page said thank you.
    expect(w.sent).toHaveLength(1);
    expect(await w.csat.viewLink(`${urls[1]!.slice(0, -2)}xx`)).toMatchObject({ ok: false, status: 403 });
    // On the form conversation's path, once each; the signed links stay in the mail.
    expect(w.path.map((p) => [p.key, p.event.kind, p.event.text])).toEqual([
      ['contact:sub-1', 'question', expect.stringMatching(/^on mail \(five links\): /)],
      ['contact:sub-1', 'rating', '2/5 with the link in the email'],
    ]);
    expect(JSON.stringify(w.path)).not.toContain(urls[1]!);
  });
});
