import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DateTime } from 'luxon';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { FakeSlackMessage } from '../fakes/slack-server.ts';
import { tgUpdate } from '../fakes/telegram-server.ts';
import type { FakeTicket } from '../fakes/zendesk-server.ts';
import { redisAvailableOrExplain } from '../fakes/redis-server.ts';
import { CREDENTIALS, withGateway, yaml } from '../fixtures/gateway.ts';
import { GatewayProcess, runCli, waitFor } from './harness.ts';
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

const TG_SECRET = CREDENTIALS.telegram.secret;
const ZD_SECRET = CREDENTIALS.zendesk.webhookSecret;
const LEADS = 'C0LEADS';
const ZONE = 'Asia/Tashkent';
/** The fakes each block runs on; the SLA watch logs its rounds at debug. */
const FAKES = { telegram: true as const, zendesk: true as const, slack: { channels: [LEADS] } };
const ENV = { LOG_LEVEL: 'debug' };

function configYaml(o: { dataDir: string; store?: string }, sla: string): string {
  return `
${yaml.base(o)}
timezone: ${ZONE}
${yaml.zendesk(`  groups: ${yaml.groups}`)}
channels:
${yaml.telegram()}
notifiers:
${yaml.slack({ leads: LEADS })}
${yaml.igaming}
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

const nowSec = () => Math.floor(Date.now() / 1000);
/** A Telegram `date`: `sec` seconds ago. */
const ago = (sec: number) => nowSec() - sec;

describe('response times and SLA from the real gateway process', LONG_TEST, () => {
  // A gateway and store for each test, started with the test's `sla` section.
  const gateway = withGateway({ fakes: FAKES, env: ENV, per: 'test', start: 'manual', config: ({ dataDir }, sla: string) => configYaml({ dataDir }, sla) });
  const zd = () => gateway.fakes.zendesk;
  const tg = () => gateway.fakes.telegram;
  const slack = () => gateway.fakes.slack;
  let update = 5000;

  /** The same gateway and store, restarted with another `sla` section (it is read at start). */
  async function restartWith(sla: string): Promise<void> {
    await gateway.gw.stop();
    await writeFile(gateway.configFile, configYaml({ dataDir: join(gateway.dir, 'data') }, sla));
    await gateway.gw.start(PATIENCE);
  }

  /** A customer message that Telegram stamped `date` (Unix seconds); resolves with its ticket. */
  async function customerWrites(chatId: number, text: string, date: number, opts: { newTicket?: boolean } = {}) {
    const res = await gateway.gw.post('/webhooks/telegram', tgUpdate.text(chatId, text, { updateId: ++update, messageId: update, date, firstName: 'Dilnoza' }), { 'x-telegram-bot-api-secret-token': TG_SECRET });
    expect(res.status).toBe(200);
    if (opts.newTicket === false) return undefined;
    return until(`the ticket for "${text}"`, () => zd().tickets.find((t) => t.comments.some((c) => c.body.includes(text))));
  }

  /** An agent's public reply, carried to Telegram; resolves with the comment's time in Zendesk (Unix seconds). */
  async function agentAnswers(ticketId: number, text: string, chatId: number): Promise<number> {
    const { commentId } = zd().addAgentComment(ticketId, text);
    const body = JSON.stringify({ ticket_id: String(ticketId) });
    expect((await gateway.gw.post('/helpdesk/events', body, zd().signWebhook(body, ZD_SECRET))).status).toBe(200);
    await until(`the reply "${text}" in Telegram`, () => tg().sent.find((m) => m.chat_id === String(chatId) && m.text?.includes(text)));
    const comment = zd().tickets.find((t) => t.id === ticketId)!.comments.find((c) => c.id === commentId)!;
    return Date.parse(comment.created_at) / 1000;
  }

  /** What the Zendesk trigger "Status category changed to Solved" posts (docs/zendesk.md), after the agent solves the ticket. */
  async function agentSolves(ticket: FakeTicket) {
    zd().solveTicket(ticket.id);
    const body = JSON.stringify({ ticket_id: String(ticket.id), event: 'solved', tags: ticket.tags.join(' ') });
    expect((await gateway.gw.post('/helpdesk/events', body, zd().signWebhook(body, ZD_SECRET))).status).toBe(200);
  }

  const rounds = () => (gateway.gw.output.match(/"msg":"SLA watch round"/g) ?? []).length;
  /** Waits until the SLA watch has run `n` more rounds: whatever they would do, they have done. */
  async function moreRounds(n: number) {
    const target = rounds() + n;
    await until(`${n} more SLA watch rounds`, () => rounds() >= target);
  }
  /** How long a notice says the customer waited, in seconds. */
  const waitedIn = (notice: FakeSlackMessage) => secondsOf(/has waited (.+?) in business hours/.exec(notice.text)?.[1] ?? '');

  const slaNotices = (ticketId: number, kind: 'breached' | 'warning'): FakeSlackMessage[] =>
    slack().messages.filter((m) => m.text.includes(`Ticket #${ticketId}: SLA ${kind}`));
  const tagWrites = (ticketId: number) =>
    zd().requests.filter((r) => r.method === 'PUT' && new RegExp(`^/api/v2/tickets/${ticketId}(\\.json)?$`).test(r.path) && JSON.stringify(r.body).includes('"additional_tags":["sla_breached"]'));

  it('a message answered after a delay: the right histogram counts, reply time, and report line (text and CSV)', async () => {
    await gateway.start('sla: { targets: { channels: { telegram: 30m } } }');
    // Telegram delivered it 200 s late (an outage): the customer has waited since they wrote.
    const wrote = ago(200);
    const ticket = (await customerWrites(771001, 'Вывод не пришёл уже 3 дня', wrote))!;
    const firstSeconds = (await agentAnswers(ticket.id, 'Проверяем ваш вывод', 771001)) - wrote;
    expect(firstSeconds).toBeGreaterThanOrEqual(200);

    const labels = { channel: 'telegram', topic: 'payments', priority: 'high', group: 'payments' };
    const metrics = await until('the first response in /metrics', async () => {
      const text = await (await fetch(`${gateway.gw.url}/metrics`)).text();
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
      sample(await (await fetch(`${gateway.gw.url}/metrics`)).text(), 'switchboard_reply_seconds_count', labels) === 1);
    const after = await (await fetch(`${gateway.gw.url}/metrics`)).text();
    expect(sample(after, 'switchboard_first_response_seconds_count', labels)).toBe(1);
    expect(sample(after, 'switchboard_reply_seconds_sum', labels)).toBe(replySeconds);
    expectOneIn(after, 'switchboard_reply_seconds', labels, replySeconds);

    const config = gateway.configFile;
    const text = await runCli(['report', '--since', '7d', '--config', config], gateway.env);
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
    const csv = await runCli(['report', '--since', '7d', '--csv', '--config', config], gateway.env);
    const rows = csv.stdout.trim().split('\n');
    expect(rows[0]).toBe('channel,topic,volume,previous_volume,change,answered,median_first_response_seconds,p90_first_response_seconds,within_sla,breached_sla,median_reply_seconds');
    expect(rows.find((r) => r.startsWith('telegram,payments,'))!.split(',')).toEqual(
      ['telegram', 'payments', '1', '0', 'new', '1', String(firstSeconds), String(firstSeconds), '1', '0', String(replySeconds)],
    );

    const bad = await runCli(['report', '--since', 'a week', '--config', config], gateway.env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--since: expected a duration like 24h, 7d or 30d, got 'a week'");
  });

  it('left unanswered past its target: one tag and one Slack notice per breach, also across a kill -9 and a restart; a warning first, and no breach once answered', async () => {
    // A warning at 20% of 5 minutes: a wait that began 70 s ago is warned about at once and breaches
    // only 230 s later, time enough for the agent's answer on a loaded machine.
    await gateway.start(`sla:
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
    expect(JSON.stringify(notice!.blocks)).toContain(`${zd().url}/agent/tickets/${late.id}|Ticket #${late.id}`);
    await until('the tag on the ticket', () => late.tags.includes('sla_breached'));
    // Counted by the process that declared it.
    const declared = await (await fetch(`${gateway.gw.url}/metrics`)).text();
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
    await gateway.gw.kill('SIGKILL');
    await gateway.gw.start(PATIENCE);
    const afterRestart = await until('the ticket written after the restart', () => zd().tickets.find((t) => t.comments.some((c) => c.body.includes('фриспины'))));
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
    await gateway.start(sla('1h'));
    const solved = (await customerWrites(775001, 'депозит не зачислен', ago(3000)))!;
    await agentSolves(solved); // settled by phone, say: no public comment
    const waiting = (await customerWrites(775002, 'бонус не начислили', ago(3000)))!;
    // The solved event is done with before the restart: left queued, it could come after the watch's first round.
    await gateway.settled();
    // …then it runs every second, and both waits are far past their 5-minute target.
    await restartWith(sla('1s'));
    await until('the breach of the ticket left waiting', () => slaNotices(waiting.id, 'breached').length === 1);
    await until('its tag', () => waiting.tags.includes('sla_breached'));
    await moreRounds(3);
    expect(slaNotices(solved.id, 'breached')).toHaveLength(0);
    expect(slaNotices(solved.id, 'warning')).toHaveLength(0);
    expect(tagWrites(solved.id)).toHaveLength(0);
    expect(solved.tags).not.toContain('sla_breached');
    expect(tg().sent.filter((m) => m.chat_id === '775001')).toHaveLength(0); // nobody answered in the chat

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
    await gateway.start(`sla:
  hours: { mon-sun: "09:00-18:00" }
  holidays: [${days}]
  targets: { channels: { telegram: 5m } }
  warnAt: 0.5
  notify: [slack:leads]
  checkEvery: 1s
`);
    const ticket = (await customerWrites(773001, 'бонус не начислили', ago(3600)))!;
    // The watch looks at it round after round (it waits, with a target) and finds no business time passed.
    await until('rounds that see it waiting', () => (gateway.gw.output.match(/"waiting":1,"declared":0,"msg":"SLA watch round"/g) ?? []).length >= 3);
    expect(slack().messages).toHaveLength(0);
    expect(ticket.tags).not.toContain('sla_breached');
    expect(tagWrites(ticket.id)).toHaveLength(0);
  });
});

describe.runIf(redisAvailableOrExplain('the SLA watch on several processes'))('the SLA watch on Redis: several processes, one watcher', LONG_TEST, () => {
  const gateway = withGateway({
    fakes: { ...FAKES, redis: true },
    env: ENV,
    config: ({ dataDir }) => configYaml({ dataDir, store: '{ kind: redis, url: "${REDIS_URL}", prefix: kpi-e2e, takeoverAfterMs: 5000 }' }, `sla:
  targets: { channels: { telegram: 5m } }
  notify: [slack:leads]
  checkEvery: 1s
`),
  });
  const zd = () => gateway.fakes.zendesk;
  const slack = () => gateway.fakes.slack;
  // The second process on the same config and Redis (the fixture runs and logs the first).
  let second: GatewayProcess | undefined;
  afterAll(async () => second?.stop());
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') console.error(second?.output.slice(-4000));
  });

  it('two processes: the breach is declared once, by the lease holder; when it dies the other takes over the watch', async () => {
    second = await GatewayProcess.sibling(gateway.configFile, gateway.env);
    await second.start(PATIENCE);
    const gws = [gateway.gw, second];
    // The process that holds the lease now (on a loaded machine it may pass to the other; either way one runs the watch).
    const watching = (g: GatewayProcess) => g.output.lastIndexOf('this process runs the SLA watch (lease taken)') > Math.max(-1, g.output.lastIndexOf('stopping the SLA watch here'));
    await until('a process that runs the SLA watch', () => gws.some(watching));

    const breachOf = async (via: GatewayProcess, chatId: number, text: string) => {
      const res = await via.post('/webhooks/telegram', tgUpdate.text(chatId, text, { updateId: chatId, messageId: 1, date: nowSec() - 400 }), { 'x-telegram-bot-api-secret-token': TG_SECRET });
      expect(res.status).toBe(200);
      const ticket = await until(`the ticket for "${text}"`, () => zd().tickets.find((t) => t.comments.some((c) => c.body.includes(text))));
      await until('its breach notice', () => slack().messages.some((m) => m.text.includes(`Ticket #${ticket.id}: SLA breached`)));
      return ticket;
    };
    const rounds = () => gws.reduce((n, g) => n + (g.output.match(/"msg":"SLA watch round"/g) ?? []).length, 0);
    const notices = (id: number) => slack().messages.filter((m) => m.text.includes(`Ticket #${id}: SLA breached`));

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
