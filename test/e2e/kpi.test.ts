import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startFakeSlack, type FakeSlack, type FakeSlackMessage } from '../fakes/slack-server.ts';
import { startFakeTelegram, tgUpdate, type FakeTelegram } from '../fakes/telegram-server.ts';
import { startFakeZendesk, type FakeTicket, type FakeZendesk } from '../fakes/zendesk-server.ts';
import { redisAvailableOrExplain, startRedis, type RedisServer } from '../fakes/redis-server.ts';
import { freePort, GatewayProcess, REPO, runCli, settled, tempDir, waitFor } from './harness.ts';
import { sample } from '../fixtures/metrics.ts';

/**
 * Response times and the SLA watch seen from outside: the real gateway process, a fake Telegram,
 * Zendesk and Slack. Delays come from the channel's own clock (a Telegram message's `date` in the
 * past, as when it waited in Telegram's queue during an outage), so no test waits for minutes.
 * Robust on a loaded machine: every wait is for the thing a user would see, with a generous
 * deadline, and expected durations come from the clocks involved (Telegram's `date`, the Zendesk
 * comment's `created_at`), not from how fast this machine happens to be.
 */

/** At load 15 on two cores a message → ticket → reply round trip has taken more than 20 s. */
const PATIENCE = 120_000;
const until = <T>(what: string, probe: () => T | undefined | false | Promise<T | undefined | false>) => waitFor(what, probe, PATIENCE);
const LONG_TEST = { timeout: 6 * 60_000 };

const TG_TOKEN = '123456:KPI-token-abcdefghijklmnopqrstu';
const TG_SECRET = 'tg-secret-kpi_0123456789';
const ZD_TOKEN = 'zd-api-token-kpi-0123';
const ZD_SECRET = 'zendesk-signing-secret-kpi-0123';
const SLACK_TOKEN = 'xoxb-1111-2222-kpiTEST';
const LEADS = 'C0LEADS';
const ZONE = 'Asia/Tashkent';

function configYaml(store: string, sla: string): string {
  return `
server: { port: 8080, host: 127.0.0.1 }
store: ${store}
timezone: ${ZONE}
log:
  level: \${LOG_LEVEL:-warn}
delivery: { maxAttempts: 20, baseDelayMs: 100, maxDelayMs: 1500, concurrency: 4 }
helpdesk:
  kind: zendesk
  baseUrl: \${ZENDESK_URL}
  email: agent@example.com
  apiToken: \${ZENDESK_API_TOKEN}
  webhookSecret: \${ZENDESK_WEBHOOK_SECRET}
  groups: { payments: 101, compliance: 102, responsible_gaming: 103, bonuses: 104, betting: 105, general: 106 }
channels:
  telegram:
    kind: telegram
    token: \${TELEGRAM_BOT_TOKEN}
    secretToken: \${TELEGRAM_WEBHOOK_SECRET}
    apiRoot: \${TELEGRAM_API_ROOT}
notifiers:
  slack:
    kind: slack
    token: \${SLACK_BOT_TOKEN}
    apiUrl: \${SLACK_API_URL}
    channels: { leads: ${LEADS} }
include: [${REPO}config/rules/igaming.yaml]
${sla}`;
}

const RESPONSE_BUCKETS = [30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400, 259200];

/** The histogram counted one observation of `seconds`: in its own bucket and not in the one below. */
function expectOneIn(text: string, name: string, labels: Record<string, string>, seconds: number): void {
  const le = RESPONSE_BUCKETS.findIndex((b) => seconds <= b);
  expect(sample(text, `${name}_bucket`, { ...labels, le: le === -1 ? '+Inf' : String(RESPONSE_BUCKETS[le]) }), `${name} ≤ its bucket`).toBe(1);
  if (le !== 0) expect(sample(text, `${name}_bucket`, { ...labels, le: String(RESPONSE_BUCKETS[le === -1 ? RESPONSE_BUCKETS.length - 1 : le - 1]) }), `${name} above the bucket below`).toBe(0);
}

/** `3m 05s`, `1h 02m`, `45s` as the notices and the report print them, in seconds. */
function secondsOf(duration: string): number {
  const unit: Record<string, number> = { d: 86_400, h: 3600, m: 60, s: 1 };
  const parts = [...duration.matchAll(/(\d+)([dhms])/g)];
  expect(parts.length, `a duration: ${duration}`).toBeGreaterThan(0);
  return parts.reduce((sum, p) => sum + Number(p[1]) * unit[p[2]!]!, 0);
}

interface World {
  tg: FakeTelegram;
  zd: FakeZendesk;
  slack: FakeSlack;
  env: Record<string, string>;
}

async function startWorld(): Promise<World> {
  const tg = await startFakeTelegram({ token: TG_TOKEN });
  const zd = await startFakeZendesk({ email: 'agent@example.com', apiToken: ZD_TOKEN });
  const slack = await startFakeSlack({ token: SLACK_TOKEN, channels: [LEADS] });
  const env = {
    LOG_LEVEL: 'debug',
    ZENDESK_URL: zd.url,
    ZENDESK_API_TOKEN: ZD_TOKEN,
    ZENDESK_WEBHOOK_SECRET: ZD_SECRET,
    TELEGRAM_BOT_TOKEN: TG_TOKEN,
    TELEGRAM_WEBHOOK_SECRET: TG_SECRET,
    TELEGRAM_API_ROOT: tg.apiRoot,
    SLACK_BOT_TOKEN: SLACK_TOKEN,
    SLACK_API_URL: slack.apiUrl,
  };
  return { tg, zd, slack, env };
}

const nowSec = () => Math.floor(Date.now() / 1000);
/** A Telegram `date`: `sec` seconds ago. */
const ago = (sec: number) => nowSec() - sec;

describe('response times and SLA from the real gateway process', LONG_TEST, () => {
  let w: World;
  let dir: { path: string; remove(): Promise<void> };
  let gw: GatewayProcess | undefined;
  let update = 5000;

  beforeAll(async () => {
    w = await startWorld();
  });
  afterAll(async () => {
    await Promise.all([w?.tg.close(), w?.zd.close(), w?.slack.close()]);
  });
  afterEach(async (ctx) => {
    await gw?.stop();
    if (ctx.task.result?.state === 'fail') console.error(gw?.output.slice(-8000));
    await dir?.remove();
    w.zd.tickets.length = 0;
    w.zd.requests.length = 0;
    w.slack.messages.length = 0;
    w.tg.sent.length = 0;
  });

  const embedded = () => `{ kind: embedded, path: ${dir.path}/data }`;
  async function start(sla: string): Promise<GatewayProcess> {
    dir = await tempDir();
    gw = await GatewayProcess.create(dir.path, configYaml(embedded(), sla), w.env);
    await gw.start(PATIENCE);
    return gw;
  }

  /** The same gateway and store, restarted with another `sla` section (it is read at start). */
  async function restartWith(sla: string): Promise<void> {
    await gw!.stop();
    await writeFile(join(dir.path, 'switchboard.yaml'), configYaml(embedded(), sla));
    await gw!.start(PATIENCE);
  }

  /** A customer message that Telegram stamped `date` (Unix seconds); resolves with its ticket. */
  async function customerWrites(chatId: number, text: string, date: number, opts: { newTicket?: boolean } = {}) {
    const res = await gw!.post('/webhooks/telegram', tgUpdate.text(chatId, text, { updateId: ++update, messageId: update, date, firstName: 'Dilnoza' }), { 'x-telegram-bot-api-secret-token': TG_SECRET });
    expect(res.status).toBe(200);
    if (opts.newTicket === false) return undefined;
    return until(`the ticket for "${text}"`, () => w.zd.tickets.find((t) => t.comments.some((c) => c.body.includes(text))));
  }

  /** An agent's public reply, carried to Telegram; resolves with the comment's time in Zendesk (Unix seconds). */
  async function agentAnswers(ticketId: number, text: string, chatId: number): Promise<number> {
    const { commentId } = w.zd.addAgentComment(ticketId, text);
    const body = JSON.stringify({ ticket_id: String(ticketId) });
    expect((await gw!.post('/helpdesk/events', body, w.zd.signWebhook(body, ZD_SECRET))).status).toBe(200);
    await until(`the reply "${text}" in Telegram`, () => w.tg.sent.find((m) => m.chat_id === String(chatId) && m.text?.includes(text)));
    const comment = w.zd.tickets.find((t) => t.id === ticketId)!.comments.find((c) => c.id === commentId)!;
    return Date.parse(comment.created_at) / 1000;
  }

  /** What the Zendesk trigger "Status category changed to Solved" posts (docs/zendesk.md), after the agent solves the ticket. */
  async function agentSolves(ticket: FakeTicket) {
    w.zd.solveTicket(ticket.id);
    const body = JSON.stringify({ ticket_id: String(ticket.id), event: 'solved', tags: ticket.tags.join(' ') });
    expect((await gw!.post('/helpdesk/events', body, w.zd.signWebhook(body, ZD_SECRET))).status).toBe(200);
  }

  const rounds = () => (gw?.output.match(/"msg":"SLA watch round"/g) ?? []).length;
  /** Waits until the SLA watch has run `n` more rounds: whatever they would do, they have done. */
  async function moreRounds(n: number) {
    const target = rounds() + n;
    await until(`${n} more SLA watch rounds`, () => rounds() >= target);
  }
  /** How long a notice says the customer waited, in seconds. */
  const waitedIn = (notice: FakeSlackMessage) => secondsOf(/has waited (.+?) in business hours/.exec(notice.text)?.[1] ?? '');

  const slaNotices = (ticketId: number, kind: 'breached' | 'warning'): FakeSlackMessage[] =>
    w.slack.messages.filter((m) => m.text.includes(`Ticket #${ticketId}: SLA ${kind}`));
  const tagWrites = (ticketId: number) =>
    w.zd.requests.filter((r) => r.method === 'PUT' && new RegExp(`^/api/v2/tickets/${ticketId}(\\.json)?$`).test(r.path) && JSON.stringify(r.body).includes('"additional_tags":["sla_breached"]'));

  it('a message answered after a delay: the right histogram counts, reply time, and report line (text and CSV)', async () => {
    await start('sla: { targets: { channels: { telegram: 30m } } }');
    // Telegram delivered it 200 s late (an outage): the customer has waited since they wrote.
    const wrote = ago(200);
    const ticket = (await customerWrites(771001, 'Вывод не пришёл уже 3 дня', wrote))!;
    const firstSeconds = (await agentAnswers(ticket.id, 'Проверяем ваш вывод', 771001)) - wrote;
    expect(firstSeconds).toBeGreaterThanOrEqual(200);

    const labels = { channel: 'telegram', topic: 'payments', priority: 'high', group: 'payments' };
    const metrics = await until('the first response in /metrics', async () => {
      const text = await (await fetch(`${gw!.url}/metrics`)).text();
      return sample(text, 'switchboard_first_response_seconds_count', labels) === 1 ? text : undefined;
    });
    // From Telegram's date to the Zendesk comment's time, to the second (both clocks count whole seconds).
    expect(sample(metrics, 'switchboard_first_response_seconds_sum', labels)).toBe(firstSeconds);
    expectOneIn(metrics, 'switchboard_first_response_seconds', labels, firstSeconds);
    expect(sample(metrics, 'switchboard_reply_seconds_count', labels) ?? 0).toBe(0);
    expect(sample(metrics, 'switchboard_sla_responses_total', { ...labels, result: 'within' })).toBe(1);
    expect(sample(metrics, 'switchboard_sla_responses_total', { ...labels, result: 'late' })).toBe(0);

    // The customer writes again 40 s later (by Telegram's clock); the next answer is a reply time, not a first response.
    const wroteAgain = ago(40);
    await customerWrites(771001, 'ID 5512345', wroteAgain, { newTicket: false });
    await until('the follow-up on the ticket', () => ticket.comments.some((c) => c.body.includes('ID 5512345')));
    const replySeconds = (await agentAnswers(ticket.id, 'Нашли, отправили повторно', 771001)) - wroteAgain;
    await until('the reply time in /metrics', async () =>
      sample(await (await fetch(`${gw!.url}/metrics`)).text(), 'switchboard_reply_seconds_count', labels) === 1);
    const after = await (await fetch(`${gw!.url}/metrics`)).text();
    expect(sample(after, 'switchboard_first_response_seconds_count', labels)).toBe(1);
    expect(sample(after, 'switchboard_reply_seconds_sum', labels)).toBe(replySeconds);
    expectOneIn(after, 'switchboard_reply_seconds', labels, replySeconds);

    const config = join(dir.path, 'switchboard.yaml');
    const text = await runCli(['report', '--since', '7d', '--config', config], w.env);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    const row = text.stdout.split('\n').find((l) => /^telegram\s+payments\s/.test(l))?.split(/\s{2,}/);
    expect(row?.slice(0, 4)).toEqual(['telegram', 'payments', '1', '1']);
    expect(secondsOf(row![4]!)).toBe(firstSeconds); // median first response
    expect(secondsOf(row![5]!)).toBe(firstSeconds); // p90
    expect(row![6]).toBe('100% (1/1)');
    expect(secondsOf(row![7]!)).toBe(replySeconds); // median reply
    expect(text.stdout).toMatch(/^all\s+all\s+1\s+1\s/m);
    expect(text.stdout).toMatch(/^payments\s+1\s+0\s+new$/m);
    const csv = await runCli(['report', '--since', '7d', '--csv', '--config', config], w.env);
    const rows = csv.stdout.trim().split('\n');
    expect(rows[0]).toBe('channel,topic,volume,previous_volume,change,answered,median_first_response_seconds,p90_first_response_seconds,within_sla,breached_sla,median_reply_seconds');
    expect(rows.find((r) => r.startsWith('telegram,payments,'))!.split(',')).toEqual(
      ['telegram', 'payments', '1', '0', 'new', '1', String(firstSeconds), String(firstSeconds), '1', '0', String(replySeconds)],
    );

    const bad = await runCli(['report', '--since', 'a week', '--config', config], w.env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--since: expected a duration like 24h, 7d or 30d, got 'a week'");
  });

  it('left unanswered past its target: one tag and one Slack notice per breach, also across a kill -9 and a restart; a warning first, and no breach once answered', async () => {
    // A warning at 20% of 5 minutes: a wait that began 70 s ago is warned about at once and breaches
    // only 230 s later, time enough for the agent's answer on a loaded machine.
    await start(`sla:
  targets: { channels: { telegram: 5m } }
  warnAt: 0.2
  notify: [slack:leads]
  checkEvery: 1s
`);
    // Waited 400 s of a 5-minute target: breached at the first round after it reaches the ticket.
    const wroteLate = ago(400);
    const late = (await customerWrites(772001, 'бонус не начислили', wroteLate))!;
    const [notice] = await until('the breach notice', () => {
      const n = slaNotices(late.id, 'breached');
      return n.length > 0 ? n : undefined;
    });
    expect(notice!.channel).toBe(LEADS);
    expect(notice!.text).toMatch(new RegExp(`^\\[normal\\] Ticket #${late.id}: SLA breached: the customer has waited \\d+m( \\d+s)? in business hours for a first reply; target 5m$`));
    // As long as the customer had waited when the notice went out: at least the 400 s, at most until now.
    expect(waitedIn(notice!)).toBeGreaterThanOrEqual(400);
    expect(waitedIn(notice!)).toBeLessThanOrEqual(nowSec() - wroteLate);
    expect(JSON.stringify(notice!.blocks)).toContain(`${w.zd.url}/agent/tickets/${late.id}|Ticket #${late.id}`);
    await until('the tag on the ticket', () => late.tags.includes('sla_breached'));
    // Counted by the process that declared it.
    const declared = await (await fetch(`${gw!.url}/metrics`)).text();
    expect(sample(declared, 'switchboard_sla_breaches_total', { channel: 'telegram', topic: 'bonus', priority: 'normal', group: 'bonuses' })).toBe(1);

    // Waited 70 s: past 20% of the target, a warning; the agent answers, so it never breaches.
    const wroteWarned = ago(70);
    const warned = (await customerWrites(772002, 'кешбэк не пришёл', wroteWarned))!;
    await until('the warning', () => slaNotices(warned.id, 'warning').length === 1);
    const left = secondsOf(/the 5m target is reached in (.+)$/.exec(slaNotices(warned.id, 'warning')[0]!.text)?.[1] ?? '');
    expect(left).toBeLessThanOrEqual(300 - 70);
    expect(left).toBeGreaterThan(0);
    await agentAnswers(warned.id, 'Начислим сегодня', 772002);

    // Another late conversation, and the process killed right after Telegram got its 200.
    await customerWrites(772003, 'фриспины пропали', ago(400), { newTicket: false });
    await gw!.kill('SIGKILL');
    await gw!.start(PATIENCE);
    const afterRestart = await until('the ticket written after the restart', () => w.zd.tickets.find((t) => t.comments.some((c) => c.body.includes('фриспины'))));
    await until('its breach notice', () => slaNotices(afterRestart.id, 'breached').length === 1);
    await until('its tag', () => afterRestart.tags.includes('sla_breached'));
    await moreRounds(3);

    expect(slaNotices(late.id, 'breached')).toHaveLength(1);
    expect(tagWrites(late.id)).toHaveLength(1);
    expect(slaNotices(afterRestart.id, 'breached')).toHaveLength(1);
    expect(tagWrites(afterRestart.id)).toHaveLength(1);
    expect(slaNotices(late.id, 'warning')).toHaveLength(0); // straight to the breach: no stale warning
    expect(slaNotices(warned.id, 'warning')).toHaveLength(1);
    expect(slaNotices(warned.id, 'breached')).toHaveLength(0);
    expect(warned.tags).not.toContain('sla_breached');
  });

  it('a ticket solved without a public reply stops the clock: no tag, no notice; the customer writing again starts a new wait', async () => {
    const sla = (checkEvery: string) => `sla:
  targets: { channels: { telegram: 5m } }
  warnAt: 0.5
  notify: [slack:leads]
  checkEvery: ${checkEvery}
`;
    // While the tickets are made and one is solved, the watch does not run (its first round is an hour away)…
    await start(sla('1h'));
    const solved = (await customerWrites(775001, 'депозит не зачислен', ago(3000)))!;
    await agentSolves(solved); // settled by phone, say: no public comment
    const waiting = (await customerWrites(775002, 'бонус не начислили', ago(3000)))!;
    // The solved event is done with before the restart: left queued, it could come after the watch's first round.
    await settled(gw!);
    // …then it runs every second, and both waits are far past their 5-minute target.
    await restartWith(sla('1s'));
    await until('the breach of the ticket left waiting', () => slaNotices(waiting.id, 'breached').length === 1);
    await until('its tag', () => waiting.tags.includes('sla_breached'));
    await moreRounds(3);
    expect(slaNotices(solved.id, 'breached')).toHaveLength(0);
    expect(slaNotices(solved.id, 'warning')).toHaveLength(0);
    expect(tagWrites(solved.id)).toHaveLength(0);
    expect(solved.tags).not.toContain('sla_breached');
    expect(w.tg.sent.filter((m) => m.chat_id === '775001')).toHaveLength(0); // nobody answered in the chat

    // The customer writes again (Zendesk reopens the ticket): a new wait, timed from this message.
    const wroteAgain = ago(400);
    await customerWrites(775001, 'так и не пришло', wroteAgain, { newTicket: false });
    const [notice] = await until('the breach of the new wait', () => {
      const n = slaNotices(solved.id, 'breached');
      return n.length > 0 ? n : undefined;
    });
    expect(waitedIn(notice!)).toBeGreaterThanOrEqual(400);
    expect(waitedIn(notice!)).toBeLessThanOrEqual(nowSec() - wroteAgain);
    await until('the tag on the reopened ticket', () => solved.tags.includes('sla_breached'));
    await moreRounds(2);
    expect(slaNotices(solved.id, 'breached')).toHaveLength(1);
    expect(tagWrites(solved.id)).toHaveLength(1);
  });

  it('outside business hours the clock stands still: no tag, no notice', async () => {
    const today = DateTime.now().setZone(ZONE);
    const days = [-1, 0, 1].map((d) => `"${today.plus({ days: d }).toISODate()}"`).join(', ');
    await start(`sla:
  hours: { mon-sun: "09:00-18:00" }
  holidays: [${days}]
  targets: { channels: { telegram: 5m } }
  warnAt: 0.5
  notify: [slack:leads]
  checkEvery: 1s
`);
    const ticket = (await customerWrites(773001, 'бонус не начислили', ago(3600)))!;
    // The watch looks at it round after round (it waits, with a target) and finds no business time passed.
    await until('rounds that see it waiting', () => (gw!.output.match(/"waiting":1,"declared":0,"msg":"SLA watch round"/g) ?? []).length >= 3);
    expect(w.slack.messages).toHaveLength(0);
    expect(ticket.tags).not.toContain('sla_breached');
    expect(tagWrites(ticket.id)).toHaveLength(0);
  });
});

describe.runIf(redisAvailableOrExplain('the SLA watch on several processes'))('the SLA watch on Redis: several processes, one watcher', LONG_TEST, () => {
  let w: World;
  let redis: RedisServer;
  let dir: { path: string; remove(): Promise<void> };
  const gws: GatewayProcess[] = [];

  beforeAll(async () => {
    w = await startWorld();
    redis = await startRedis();
    dir = await tempDir();
  });
  afterAll(async () => {
    await Promise.all(gws.map((g) => g.stop()));
    await Promise.all([w?.tg.close(), w?.zd.close(), w?.slack.close(), redis?.close()]);
    await dir?.remove();
  });
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') for (const g of gws) console.error(g.output.slice(-4000));
  });

  it('two processes: the breach is declared once, by the lease holder; when it dies the other takes over the watch', async () => {
    const env = w.env;
    const first = await GatewayProcess.create(dir.path, configYaml(`{ kind: redis, url: "${redis.url}", prefix: kpi-e2e, takeoverAfterMs: 5000 }`, `sla:
  targets: { channels: { telegram: 5m } }
  notify: [slack:leads]
  checkEvery: 1s
`), env);
    const second = new GatewayProcess(`${dir.path}/switchboard.yaml`, await freePort(), env);
    gws.push(first, second);
    await Promise.all([first.start(PATIENCE), second.start(PATIENCE)]);
    // The process that holds the lease now (on a loaded machine it may pass to the other; either way one runs the watch).
    const watching = (g: GatewayProcess) => g.output.lastIndexOf('this process runs the SLA watch (lease taken)') > Math.max(-1, g.output.lastIndexOf('stopping the SLA watch here'));
    await until('a process that runs the SLA watch', () => gws.some(watching));

    const breachOf = async (via: GatewayProcess, chatId: number, text: string) => {
      const res = await via.post('/webhooks/telegram', tgUpdate.text(chatId, text, { updateId: chatId, messageId: 1, date: nowSec() - 400 }), { 'x-telegram-bot-api-secret-token': TG_SECRET });
      expect(res.status).toBe(200);
      const ticket = await until(`the ticket for "${text}"`, () => w.zd.tickets.find((t) => t.comments.some((c) => c.body.includes(text))));
      await until('its breach notice', () => w.slack.messages.some((m) => m.text.includes(`Ticket #${ticket.id}: SLA breached`)));
      return ticket;
    };
    const rounds = () => gws.reduce((n, g) => n + (g.output.match(/"msg":"SLA watch round"/g) ?? []).length, 0);
    const notices = (id: number) => w.slack.messages.filter((m) => m.text.includes(`Ticket #${id}: SLA breached`));

    // Written through the process that does not watch: the watch sees it all the same (the store is shared).
    const a = await breachOf(gws.find((g) => !watching(g)) ?? second, 774001, 'вывод завис');
    const seen = rounds();
    await until('three more rounds of the watch', () => rounds() >= seen + 3);
    expect(notices(a.id)).toHaveLength(1);
    await until('the tag on the ticket', () => a.tags.includes('sla_breached'));

    const holder = gws.find(watching)!;
    const survivor = gws.find((g) => g !== holder)!;
    await holder.kill('SIGKILL');
    await until('the other process taking over the watch', () => watching(survivor));
    const b = await breachOf(survivor, 774002, 'депозит не зачислен');
    expect(notices(b.id)).toHaveLength(1);
    expect(notices(a.id)).toHaveLength(1);
  });
});
