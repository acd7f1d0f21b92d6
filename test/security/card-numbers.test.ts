import { readFile } from 'node:fs/promises';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../e2e/harness.ts';
import { withGateway, yaml } from '../fixtures/gateway.ts';

/**
 * The demo form (jsonl dry-run helpdesk, embedded store) with a real card number and a mistyped
 * one in the message: what a PCI auditor would open (the dry-run ticket file, the journal's
 * SQLite file, the log, the Slack alert) holds only the last 4 digits, the ticket's private note
 * says numbers were masked, and the phone number and player id in the same message survive.
 */

const PAYMENTS = 'C0PAYMENTS';
const CARD = '4111 1111 1111 1111';
const MISTYPED = '4276 1600 1234 5678';
const PHONE = '+998 90 123-45-67';
const PLAYER = '123456789';
const FULL = [CARD, '4111111111111111', MISTYPED, '4276160012345678', '1600 1234'];

describe('card numbers never leave the gateway (demo form, real process)', () => {
  // config/demo.yaml, with the store in a temp folder and a Slack alert on every payments ticket.
  const t = withGateway({
    fakes: { slack: { channels: [PAYMENTS] } },
    config: ({ dir, dataDir }) => `
${yaml.base({ dataDir, log: 'debug', delivery: '{ baseDelayMs: 200, maxDelayMs: 1000, maxAttempts: 100 }' })}
helpdesk: { kind: jsonl, path: ${dir}/tickets.jsonl }
channels:
  contact:
    kind: webform
    fields:
      email: { type: email, required: true }
      name: {}
      message: { required: true, maxLength: 5000 }
      topic: { enum: [payments, verification, bonus, other] }
    mapping: { text: message, email: email, name: name }
notifiers:
${yaml.slack({ payments: PAYMENTS })}
rules:
  - name: payments-alert
    when: { form: { topic: payments } }
    notify: [slack:payments]
${yaml.igaming}
`,
  });

  it('masks both numbers in the ticket, the journal, the log and the Slack alert; the note says so; phone and player id survive', async () => {
    const { gw, dir } = t;
    const slack = t.fakes.slack;
    // Slack refuses until the journal has been read: the alert's job, which carries the message, waits in it.
    slack.failNext('chat.postMessage', 1_000_000, { status: 500, body: 'unavailable' });
    const message = `Списали дважды с карты ${CARD}, вторая карта ${MISTYPED}. Мой номер ${PHONE}, ID игрока ${PLAYER}`;
    const res = await gw.post('/forms/contact', { email: 'player@example.com', name: 'Dilnoza', message, topic: 'payments', submissionId: 'cards-0001' });
    expect(res.status).toBeLessThan(300);

    const tickets = await waitFor('the dry-run ticket', async () => {
      const text = await readFile(`${dir}/tickets.jsonl`, 'utf8').catch(() => '');
      return text.includes('**** **** **** 5678') && text.includes('masked') ? text : undefined;
    });
    await waitFor('a refused Slack alert', () => slack.requests.some((r) => r.method === 'chat.postMessage') || undefined, 15_000);
    const db = new DatabaseSync(`${dir}/data/switchboard.db`, { readOnly: true });
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((r) => String(r['name']));
    const journal = JSON.stringify(tables.map((t) => db.prepare(`SELECT * FROM "${t}"`).all()));
    db.close();
    slack.clearFailures();
    const alert = await waitFor('the Slack alert', () => slack.messages[0], 30_000);

    const places = { tickets, journal, log: gw.output, slack: JSON.stringify(alert) };
    for (const [where, text] of Object.entries(places)) {
      for (const full of FULL) expect([where, text.includes(full)]).toEqual([where, false]);
    }
    expect(tickets).toContain('**** **** **** 1111');
    expect(tickets).toContain('**** **** **** 5678');
    expect(journal).toContain('**** **** **** 1111');
    expect(places.slack).toContain('**** **** **** 1111');
    expect(tickets).toMatch(/masked 2 card numbers/);
    expect(tickets).toContain(PHONE);
    expect(tickets).toContain(PLAYER);
    expect(journal).toContain(PHONE);
  });
});
