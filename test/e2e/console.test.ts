import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeTelegram, tgUpdate, type FakeTelegram } from '../fakes/telegram-server.ts';
import { CREDENTIALS, withGateway, yaml } from '../fixtures/gateway.ts';
import { duplicateKeys, type GatewayProcess, REPO, tempDir, waitFor } from './harness.ts';

/**
 * The console in Debian's Chromium against the real gateway process, with fake Telegram and
 * Zendesk servers: what an admin sees and clicks. Screenshots go to test-output/screenshots/.
 * Skipped loudly without /usr/bin/chromium; SWITCHBOARD_REQUIRE_SERVICES=1 (CI) fails instead.
 */

const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) {
  const msg = `console browser test: no Chromium at ${CHROMIUM} (apt-get install -y chromium)`;
  if (process.env['SWITCHBOARD_REQUIRE_SERVICES'] === '1') throw new Error(`${msg}; SWITCHBOARD_REQUIRE_SERVICES=1 forbids skipping`);
  console.error(`\n*** ${msg}: SKIPPED ***\n`);
}
const SHOTS = join(REPO, 'test-output', 'screenshots');

const ADMIN = CREDENTIALS.admin;
const HOOK_TOKEN = '222222:HOOK-token-abcdefghijklmnopqrstuv';
const HOOK_SECRET = 'hook-secret-token_0123456789';

describe.skipIf(!haveChromium)('the /admin console in a real browser', () => {
  // A second bot, in webhook mode, with its own fake Telegram: started before the gateway's config is written.
  let hooked: FakeTelegram;
  beforeAll(async () => {
    hooked = await startFakeTelegram({ token: HOOK_TOKEN });
  });
  afterAll(() => hooked?.close());
  const t = withGateway({
    fakes: { telegram: true, zendesk: true },
    config: ({ dataDir }) => `
${yaml.base({ dataDir, admin: true, publicUrl: 'http://127.0.0.1:8080', delivery: '{ maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 500, concurrency: 4 }' })}
${yaml.zendesk(`  # Writes held by the queue test must not time out while it looks.
  timeoutMs: 60000
  groups: ${yaml.groups}`)}
channels:
${yaml.telegramPolling()}
  tg-hooks:
    kind: telegram
    token: ${HOOK_TOKEN}
    mode: webhook
    secretToken: ${HOOK_SECRET}
    apiRoot: ${hooked.apiRoot}
${yaml.igaming}
`,
  });
  const polled = () => t.fakes.telegram;
  const zd = () => t.fakes.zendesk;
  let gw: GatewayProcess;
  let browser: Browser;
  let userData: { path: string; remove(): Promise<void> };
  let page: Page;

  beforeAll(async () => {
    gw = t.gw;
    await mkdir(SHOTS, { recursive: true });
    userData = await tempDir('switchboard-chromium-');
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      userDataDir: userData.path,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await userData?.remove();
  });

  const shot = (name: string) => page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  // Page functions run in the browser; written as strings so this file needs no DOM types.
  const textOf = (selector: string) => page.$eval(selector, (el) => (el as unknown as { innerText: string }).innerText);
  const waitForPage = (expression: string, timeout = 20_000) => page.waitForFunction(expression, { timeout, polling: 250 });

  it('logs in with the admin token and shows each channel connected, then the error when its server fails', async () => {
    await page.goto(`${gw.url}/admin`);
    expect(new URL(page.url()).pathname).toBe('/admin/login');
    await page.type('#token', 'not-the-token-at-all');
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    expect(await textOf('[role=alert]')).toContain('not right');
    await page.type('#token', ADMIN);
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    expect(new URL(page.url()).pathname).toBe('/admin');
    const cookies = await page.cookies();
    const session = cookies.find((c) => c.name === 'sb_session')!;
    expect(session).toMatchObject({ httpOnly: true, sameSite: 'Strict', path: '/admin' });

    await waitForPage(`document.querySelector('tr[data-channel="telegram"] .badge')?.textContent === 'connected'`);
    expect(await textOf('tr[data-channel="tg-hooks"]')).toMatch(/no webhook is registered with Telegram/);
    // A customer writes; the row shows the last message in.
    polled().pushUpdate(tgUpdate.text(777001, 'Pul yechish 3 kundan beri kelmadi', { messageId: 5, firstName: 'Dilnoza', username: 'dilnoza_uz' }));
    await waitFor('the ticket', () => zd().tickets[0]);
    await waitForPage(`!document.querySelector('tr[data-channel="telegram"] td:nth-child(3)')?.textContent?.includes('never')`);
    await shot('overview');

    polled().failNext('getUpdates', 100_000, { error_code: 401, description: 'Unauthorized' });
    await waitForPage(`document.querySelector('tr[data-channel="telegram"] .badge')?.textContent === 'error'`, 30_000);
    const row = await textOf('tr[data-channel="telegram"]');
    expect(await textOf('main')).not.toMatch(/<\/?(span|div|a|strong|dl|time) ?/);
    expect(row).toContain('the bot token was rejected (401)');
    expect(row).toMatch(/the credentials were refused/);
    await shot('overview-channel-error');

    // Readable on a phone: nothing wider than the screen (wide tables scroll inside their box).
    await page.setViewport({ width: 390, height: 844 });
    await page.reload();
    expect(await page.evaluate('document.documentElement.scrollWidth <= window.innerWidth')).toBe(true);
    await shot('overview-phone');
    await page.setViewport({ width: 1280, height: 900 });
    // Usable with the keyboard: the first Tab reaches "Skip to content", which moves the focus to the page.
    await page.keyboard.press('Tab');
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Skip to content');
    await page.keyboard.press('Enter');
    expect(await page.evaluate('document.activeElement?.id')).toBe('main');
  }, 90_000);

  it('finds the conversation by the customer\'s username and shows its path into ticket N', async () => {
    const sent = await gw.post('/webhooks/tg-hooks', tgUpdate.text(777003, 'Bonus hali ham tushmadi', { messageId: 7, updateId: 400, firstName: 'Jasur', username: 'jasur_uz' }), { 'x-telegram-bot-api-secret-token': HOOK_SECRET });
    expect(sent.status).toBe(200);
    const ticket = await waitFor('the ticket', () => zd().tickets.find((t) => t.comments[0]?.body.includes('Bonus hali')));
    await page.goto(`${gw.url}/admin/conversations`);
    await page.type('#q', '@Jasur_UZ');
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    const conversation = '[data-conversation="tg-hooks:777003"]';
    await page.waitForSelector(`${conversation} li[data-event="ticket"]`);
    const path = await textOf(conversation);
    expect(path).toContain('Accepted from the customer');
    expect(path).toContain('Bonus hali');
    expect(path).toContain(`ticket #${ticket.id}`);
    const href = await page.$eval(`${conversation} li[data-event="ticket"] a`, (a) => (a as unknown as { href: string }).href);
    expect(href).toBe(`${zd().url}/agent/tickets/${ticket.id}`);
    await shot('conversation');
  }, 60_000);

  it('shows a dead letter with the helpdesk\'s words verbatim (and inert), replays it, and the ticket appears', async () => {
    const injected = '<img src=x onerror="window.__pwned=1">';
    const refusal = JSON.stringify({ error: 'RecordInvalid', description: `Requester is suspended ${injected}` });
    zd().failNext(1, { status: 422, body: refusal, headers: { 'content-type': 'application/json' } });
    const sent = await gw.post('/webhooks/tg-hooks', tgUpdate.text(777002, `Bonus qayerda? ${injected}`, { messageId: 6, updateId: 500 }), { 'x-telegram-bot-api-secret-token': HOOK_SECRET });
    expect(sent.status).toBe(200);
    await page.goto(`${gw.url}/admin/dead-letters`);
    await waitFor('the dead letter on the page', async () => {
      await page.reload();
      return (await page.$$('tr[data-dead-letter]')).length === 1;
    }, 30_000);
    const row = await textOf('tr[data-dead-letter]');
    expect(row).toContain('refused as invalid (HTTP 422)');
    expect(row).toContain('Bonus qayerda?');
    // Our own markup is markup (not shown as text), the helpdesk's and the customer's is text.
    expect(await textOf('main')).not.toMatch(/<\/?(span|div|a|strong|dl|time) ?/);
    expect(await page.$eval('tr[data-dead-letter]', (tr) => tr.querySelector('details pre')?.textContent)).toBe(refusal);
    expect(await page.$('tr[data-dead-letter] img')).toBeNull();
    expect(await page.evaluate('window.__pwned')).toBeUndefined();
    await shot('dead-letters');

    const before = zd().tickets.length;
    await page.click('tr[data-dead-letter] button[name=one]');
    await page.waitForSelector('.notice.ok');
    expect(await textOf('.notice')).toContain('Replayed 1');
    const ticket = await waitFor('the replayed ticket at the fake Zendesk', () => zd().tickets.length > before && zd().tickets.find((t) => t.comments[0]?.body.includes('Bonus qayerda?')));
    expect(ticket.comments[0]!.body).toContain(injected);
    await page.goto(`${gw.url}/admin/dead-letters`);
    expect(await page.$$('tr[data-dead-letter]')).toHaveLength(0);
  }, 60_000);

  it('runs the rule tester on an Uzbek message and shows the decision and each rule\'s why', async () => {
    await page.goto(`${gw.url}/admin/rules`);
    await page.select('#r-channel', 'telegram');
    await page.type('#r-text', "Pul yechish uchun so'rov 3 kundan beri kutyapti, pulim qayerda?");
    await Promise.all([page.waitForNavigation(), page.click('main form button[type=submit]')]);
    const result = await textOf('#result');
    expect(result).toMatch(/withdrawal/);
    expect(await textOf('main')).toContain('Reply language: uz');
    const fired = await page.$$eval('tr[data-rule]', (rows) => rows.filter((r) => r.children[1]?.textContent === 'yes').map((r) => r.getAttribute('data-rule')));
    expect(fired.length).toBeGreaterThan(0);
    expect(await page.$eval(`tr[data-rule="${fired[0]}"] td:last-child`, (td) => td.textContent)).not.toBe('');
    await shot('rules');
  }, 30_000);

  it('registers the Telegram webhook with a button, and the problem goes away', async () => {
    await page.goto(`${gw.url}/admin/linking`);
    expect(await textOf('#channel-tg-hooks')).toMatch(/no webhook is registered/);
    await Promise.all([page.waitForNavigation(), page.click('#channel-tg-hooks button')]);
    expect(await textOf('.notice.ok')).toContain('webhook set to http://127.0.0.1:8080/webhooks/tg-hooks');
    expect(hooked.webhook).toMatchObject({ url: 'http://127.0.0.1:8080/webhooks/tg-hooks', secret_token: HOOK_SECRET });
    expect(await textOf('#channel-tg-hooks')).toMatch(/matches publicUrl\s*yes/);
    await shot('linking');
  }, 30_000);

  it('shows an urgent message waiting behind a helpdesk that hangs, by priority, until it is delivered', async () => {
    const urgentCard = `document.querySelector('[data-queue-classes] [data-class="urgent"] dd')?.textContent`;
    await page.goto(`${gw.url}/admin`);
    await waitForPage(`${urgentCard} === '0'`);
    // The helpdesk stops answering writes: four conversations take the four delivery slots and hang there.
    const hang = zd().holdWrites();
    try {
      const hook = (chat: number, text: string, updateId: number) =>
        gw.post('/webhooks/tg-hooks', tgUpdate.text(chat, text, { messageId: 1, updateId }), { 'x-telegram-bot-api-secret-token': HOOK_SECRET });
      for (let i = 0; i < 4; i++) expect((await hook(778_010 + i, 'Pul yechish 3 kundan beri kelmadi', 600 + i)).status).toBe(200);
      await waitFor('four writes hanging at the helpdesk', () => hang.held() === 4, 30_000);
      // Two more wait for a slot: one of them is a plea for help, which the rules make urgent.
      expect((await hook(778_020, 'app crashes on iphone after update', 610)).status).toBe(200);
      expect((await hook(778_021, 'i think i have a gambling addiction, please close my account', 611)).status).toBe(200);

      await waitForPage(`${urgentCard} === '1'`);
      expect(await page.$eval('[data-queue-classes]', (card) => card.className)).toContain('urgent');
      expect(await page.$('[data-queue-classes] [data-class="urgent"] .badge.bad')).not.toBeNull();
      const card = await textOf('[data-queue-classes]');
      expect(card).toMatch(/waiting by priority/);
      // The four in flight were taken at once, never needing a class.
      expect(card).toMatch(/not yet sorted\s*4/);
      await shot('overview-urgent-waiting');
      // The same numbers for scripts and for Prometheus.
      const status = (await (await fetch(`${gw.url}/admin/status`, { headers: { authorization: `Bearer ${ADMIN}` } })).json()) as { queued: number; queuedByClass: Record<string, number> };
      expect(status.queuedByClass).toMatchObject({ urgent: 1, unclassified: 4 });
      expect(Object.values(status.queuedByClass).reduce((a, b) => a + b, 0)).toBe(status.queued);
      expect(await (await fetch(`${gw.url}/metrics`)).text()).toMatch(/^switchboard_queue_class_depth\{class="urgent"\} 1$/m);
    } finally {
      hang.release();
    }
    await waitFor('the urgent ticket', () => zd().tickets.find((t) => t.comments[0]?.body.includes('gambling addiction')), 30_000);
    await waitForPage(`${urgentCard} === '0'`);
    expect(await page.$('[data-queue-classes] .badge')).toBeNull();
  }, 90_000);

  it('refuses a form without the CSRF token, and one without the session; logging out ends the session', async () => {
    const cookies = await page.cookies();
    const header = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    const csrf = await page.$eval('form.logout input[name=_csrf]', (i) => (i as unknown as { value: string }).value);
    const post = (headers: Record<string, string>, body: string) =>
      fetch(`${gw.url}/admin/dead-letters/replay`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
    expect((await post({ cookie: header }, 'scope=matching')).status).toBe(403);
    expect((await post({}, `scope=matching&_csrf=${encodeURIComponent(csrf)}`)).status).toBe(401);
    expect((await post({ cookie: header }, `scope=matching&_csrf=${encodeURIComponent(csrf)}`)).status).toBe(200);

    await Promise.all([page.waitForNavigation(), page.click('form.logout button')]);
    expect(new URL(page.url()).pathname).toBe('/admin/login');
    await page.goto(`${gw.url}/admin/dead-letters`);
    expect(new URL(page.url()).pathname).toBe('/admin/login');
    // The gateway kept serving through all of it.
    expect((await fetch(`${gw.url}/healthz`)).status).toBe(200);
    // Every log line carries each key once.
    for (const line of gw.output.split('\n').filter((l) => l.startsWith('{'))) expect(duplicateKeys(line), line).toEqual([]);
  }, 30_000);
});
