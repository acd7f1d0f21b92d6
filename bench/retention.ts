import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { z } from 'zod';
import { ThreadIndex } from '../connectors/channels/email/threading.ts';
import { rememberSubject } from '../connectors/channels/email/subjects.ts';
import { SubmissionLedger } from '../connectors/channels/webform/submission.ts';
import { recordSent } from '../connectors/channels/whatsapp-cloud/sent-index.ts';
import type { KeyValueStore } from '../src/core/connector.ts';
import { csatRecords } from '../src/core/csat/records.ts';
import { DEFAULT_RETENTION } from '../src/core/retention.ts';
import { SentParts } from '../src/kit/outbound/sent-parts.ts';
import { CallTracker } from '../src/kit/telephony/call-tracker.ts';
import { startCheckpointer } from '../src/runtime/embedded/checkpointer.ts';
import { databaseFile, openDatabase } from '../src/runtime/embedded/database.ts';
import { EmbeddedStore } from '../src/runtime/embedded/store.ts';

/**
 * `node bench/retention.ts [--days 240]`: replays months of a support team's traffic into the
 * embedded store on a simulated clock, through the same record helpers the channels, helpdesks
 * and the rating flow use, and sweeps expired records as the runtime does. Prints the store's
 * size by day next to what it would hold if nothing expired (the records written), as Markdown
 * for BENCHMARKS.md.
 *
 * The day (a mid-size iGaming team): 4,000 customer messages in 1,500 new conversations (Telegram
 * 45 %, WhatsApp Cloud 25 %, email 15 %, web form 10 %, phone 5 %), 3,000 agent replies to the
 * channels that can take them, 1,500 tickets created and 1,200 solved (rating question asked).
 */

const { values } = parseArgs({ options: { days: { type: 'string', default: '240' } } });
const DAYS = Number(values.days);
const DAY = 86_400_000;
const TICK = 10 * 60_000;
const TICKS_PER_DAY = DAY / TICK;
/** Per day, spread evenly over the day's ticks. */
const PER_DAY = { telegramReplies: 1350, whatsappReplies: 750, emailReplies: 450, emails: 600, newEmailThreads: 225, forms: 400, calls: 200, tickets: 1500, solved: 1200, newConversations: 1500 };

const dir = await mkdtemp(join(tmpdir(), 'switchboard-bench-retention-'));
const log = pino({ level: 'silent' });
let now = Date.UTC(2026, 0, 1);
const db = openDatabase(dir);
const checkpointer = startCheckpointer(db, databaseFile(dir), log);
const store = new EmbeddedStore(db, { kvClock: () => now });
/** The gateway gives each channel its own key prefix. */
const scoped = (prefix: string): KeyValueStore => ({
  get: (k) => store.kv.get(prefix + k),
  set: (k, v, o) => store.kv.set(prefix + k, v, o),
  delete: (k) => store.kv.delete(prefix + k),
  claimInWindow: (k, id, limit, windowMs) => store.kv.claimInWindow(prefix + k, id, limit, windowMs),
});
const kv = {
  telegram: scoped('channel:telegram:'),
  whatsapp: scoped('channel:whatsapp:'),
  email: scoped('channel:support:'),
  form: scoped('channel:contact:'),
  phone: scoped('channel:phone:'),
  core: store.kv,
};
const threads = new ThreadIndex(kv.email);
const ledger = new SubmissionLedger(kv.form, 'contact');
const calls = new CallTracker({ kv: kv.phone, accept: async (d) => d.map((x) => ({ id: x.dedupeKey, dedupeKey: x.dedupeKey, duplicate: false })), log, callLog: 'note' });
const csat = csatRecords(kv.core);

/** Keys written at least once: what the store would hold if nothing expired. */
const written = new Set<string>();
const seq = { reply: 0, mail: 0, form: 0, call: 0, ticket: 0, solved: 0, conversation: 0 };
/** How many of `perDay` fall in this tick (spread so that a day adds up exactly). */
const share = (perDay: number, tick: number) => Math.floor(((tick + 1) * perDay) / TICKS_PER_DAY) - Math.floor((tick * perDay) / TICKS_PER_DAY);
const hash = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 32);

async function tick(t: number): Promise<void> {
  const work: Promise<unknown>[] = [];
  const note = (key: string) => void written.add(key);
  for (let i = 0; i < share(PER_DAY.telegramReplies, t); i++) {
    const id = `r-${++seq.reply}`;
    note(`tg:${id}`);
    work.push(SentParts.open(kv.telegram, `telegram:telegram:sent:${id}`, z.number()).then((p) => p.once(0, ['Проверили, деньги отправлены.'], async () => seq.reply)));
  }
  for (let i = 0; i < share(PER_DAY.whatsappReplies, t); i++) {
    const id = `r-${++seq.reply}`;
    note(`wa:${id}`);
    note(`wamid:${id}`);
    work.push(SentParts.open(kv.whatsapp, `whatsapp:sent:${id}`, z.string()).then((p) => p.once(0, ['Бонус начислен.'], async () => `wamid.${id}`)));
    work.push(recordSent(kv.whatsapp, `wamid.${id}`, { conversation: `99890${seq.reply % 100_000}`, replyId: id, excerpt: 'Бонус начислен.' }));
  }
  for (let i = 0; i < share(PER_DAY.emailReplies, t); i++) {
    const id = `r-${++seq.reply}`;
    note(`em:${id}`);
    note(`mid-own:${id}`);
    work.push(kv.email.set(`sent:${id}`, `<${id}@acme.test>`, { keep: 'sent' }));
    work.push(threads.recordSent(`<${id}@acme.test>`, `<c${seq.mail}@customer.test>`, `c${seq.mail}@customer.test`));
  }
  for (let i = 0; i < share(PER_DAY.emails, t); i++) {
    const m = ++seq.mail;
    note(`mid:${m}`);
    work.push(threads.recordInbound({ messageId: `<m${m}@customer.test>`, date: new Date(now) }, `<c${m}@customer.test>`));
  }
  for (let i = 0; i < share(PER_DAY.newEmailThreads, t); i++) {
    note(`subject:${seq.mail}-${i}`);
    work.push(rememberSubject(kv.email, `<c${seq.mail}-${i}@customer.test>`, 'Вывод средств'));
    work.push(kv.email.claimInWindow(`autoreplies:p${seq.mail}-${i}@customer.test`, `auto-${seq.mail}-${i}`, 5, 3_600_000));
    note(`autoreply:${seq.mail}-${i}`);
  }
  for (let i = 0; i < share(PER_DAY.forms, t); i++) {
    const id = `sub-${++seq.form}`;
    note(`form:${id}`);
    work.push(ledger.remember(id, { messageId: `m-${id}`, fingerprint: hash(id) }));
  }
  for (let i = 0; i < share(PER_DAY.calls, t); i++) {
    const sid = `CA${String(++seq.call).padStart(32, '0')}`;
    note(`call:${sid}`);
    const at = new Date(now).toISOString();
    work.push(calls.handle(sid, [{ at, type: 'ringing', direction: 'inbound', from: '+998901234567', to: '+998712000000' }, { at, type: 'ended', outcome: 'no-answer' }]));
  }
  for (let i = 0; i < share(PER_DAY.newConversations, t); i++) {
    // The Zendesk connector's requester cache: an id reused for 10 minutes.
    const key = `zendesk:requester:${hash(`conv-${++seq.conversation}`)}`;
    note(key);
    work.push(kv.core.set(key, `${seq.conversation}@${now}`, { ttlMs: 10 * 60_000 }));
  }
  for (let i = 0; i < share(PER_DAY.tickets, t); i++) {
    const ticket = String(++seq.ticket);
    note(`facts:${ticket}`);
    work.push(csat.setFacts(ticket, { channelId: 'telegram', conversationKey: `telegram:${ticket}`, topic: 'payments', tags: ['payments'], language: 'ru' }));
  }
  for (let i = 0; i < share(PER_DAY.solved, t); i++) {
    const ticket = String(++seq.solved);
    const q = `q-${ticket}`;
    for (const k of [`asked:${ticket}`, `question:${q}`, `open:${ticket}`]) note(k);
    work.push(csat.markAsked(ticket, q));
    work.push(csat.setQuestion(q, {
      ticketId: ticket, conversationKey: `telegram:${ticket}`, channelId: 'telegram', sentVia: 'telegram',
      to: { channelId: 'telegram', externalId: ticket, sender: { externalId: ticket } }, replyKey: `telegram:${ticket}`,
      requesterId: ticket, language: 'ru', topic: 'payments', askedAt: now,
    }));
    work.push(csat.setOpen(`telegram:${ticket}`, { questionId: q, phase: 'score', until: now + 72 * 3_600_000 }));
  }
  await Promise.all(work);
  // The runtime sweeps every minute, 1,000 at a time, up to 50 batches a round.
  for (let i = 0; i < 50 && (await store.kv.sweep(1000)) === 1000; i++);
}

function size(): { rows: number; fileMb: number; usedMb: number } {
  const rows = (db.prepare('SELECT COUNT(*) AS n FROM kv').get() as { n: number }).n;
  const pages = (db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count;
  const free = (db.prepare('PRAGMA freelist_count').get() as { freelist_count: number }).freelist_count;
  const pageSize = (db.prepare('PRAGMA page_size').get() as { page_size: number }).page_size;
  return { rows, fileMb: (pages * pageSize) / 1e6, usedMb: ((pages - free) * pageSize) / 1e6 };
}

const report = new Set([1, 7, 14, 30, 60, 90, 120, 150, 180, 181, 190, 210, 240, 300, 365, DAYS]);
const days = (ms: number) => `${ms / DAY} d`;
console.log(`Retention (defaults): sent ${days(DEFAULT_RETENTION.sent)}, inbound ${days(DEFAULT_RETENTION.inbound)}, calls ${days(DEFAULT_RETENTION.calls)}, threads ${days(DEFAULT_RETENTION.threads)}, ratings ${days(DEFAULT_RETENTION.ratings)}; caches their own (10 min to 1 h).\n`);
console.log('| day | records written | records in the store | store / written | database MB (pages in use) |');
console.log('|---:|---:|---:|---:|---:|');
const started = performance.now();
for (let day = 1; day <= DAYS; day++) {
  for (let t = 0; t < TICKS_PER_DAY; t++) {
    await tick(t);
    now += TICK;
  }
  if (report.has(day)) {
    const s = size();
    console.log(`| ${day} | ${written.size.toLocaleString('en')} | ${s.rows.toLocaleString('en')} | ${Math.round((s.rows / written.size) * 100)} % | ${s.usedMb.toFixed(1)} of ${s.fileMb.toFixed(1)} |`);
  }
}
console.log(`\n${DAYS} simulated days in ${((performance.now() - started) / 1000).toFixed(0)} s.`);
await checkpointer.close();
db.close();
await rm(dir, { recursive: true, force: true });
