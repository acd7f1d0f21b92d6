import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { registry } from '../../connectors/registry.ts';
import { ConfigError, loadConfig } from '../../src/config/load.ts';
import { lineOf, writeTree } from '../fixtures/config/files.ts';

/** The `csat:` section: what it names must exist and fit; mistakes are reported with file:line. */

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

const BASE = `
server: { publicUrl: https://gw.example.com }
helpdesk: { kind: jsonl }
channels:
  telegram: { kind: telegram, token: "123:abc", mode: polling }
  contact: { kind: webform, fields: { email: { type: email }, message: { required: true } } }
  mail:
    kind: email
    address: support@acme.test
    imap: { host: imap.acme.test, user: support, password: x }
    smtp: { host: smtp.acme.test }
`;

async function load(yaml: string) {
  const tree = await writeTree({ 'config.yaml': yaml });
  cleanups.push(tree.cleanup);
  return loadConfig(path.join(tree.dir, 'config.yaml'), registry, {});
}

async function problems(yaml: string): Promise<{ path: string; line?: number; message: string }[]> {
  try {
    await load(yaml);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues.map((i) => ({ path: i.path, line: i.line, message: i.message }));
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('csat config', () => {
  it('is off by default, with the documented defaults', async () => {
    const { config } = await load(BASE);
    expect(config.csat).toMatchObject({ channels: {}, delaySeconds: 120, lowScore: 3, answerHours: 72, tagPrefix: 'csat_', responsibleGaming: { tags: ['responsible_gaming'], ask: false } });
  });

  it('loads a full section; the link secret is a secret', async () => {
    const secret = 'l'.repeat(40);
    const { config, secrets } = await load(`${BASE}
csat:
  channels: { telegram: {}, mail: {}, contact: { via: mail } }
  quietHours: { from: "22:00", to: "09:00" }
  linkSecret: ${secret}
  texts: { ru: { question: "Оцените нас" } }
`);
    expect(Object.keys(config.csat.channels)).toEqual(['telegram', 'mail', 'contact']);
    expect(secrets).toContain(secret);
  });

  it('names a missing channel, a via that is not email, a form without via, and links without a secret', async () => {
    const yaml = `${BASE}
csat:
  channels:
    telgram: {}
    contact: {}
    mail: {}
    telegram: { via: contact }
`;
    const found = await problems(yaml);
    expect(found).toEqual(expect.arrayContaining([
      expect.objectContaining({ path: 'csat.channels.telgram', line: lineOf(yaml, 'telgram'), message: expect.stringMatching(/no channel 'telgram'.*did you mean 'telegram'/) }),
      expect.objectContaining({ path: 'csat.channels.contact', message: expect.stringMatching(/cannot write to the customer; add via/) }),
      expect.objectContaining({ path: 'csat.channels.telegram.via', message: expect.stringMatching(/'contact' is not an email channel/) }),
      expect.objectContaining({ path: 'csat', message: expect.stringMatching(/set csat.linkSecret/) }),
    ]));
  });

  it('refuses bad quiet hours, a low score above 5 and an unknown key, naming each', async () => {
    const found = await problems(`${BASE}
csat:
  quietHours: { from: "25:00", to: "9" }
  lowScore: 9
  delay: 5
`);
    expect(found.map((f) => f.path)).toEqual(expect.arrayContaining(['csat.quietHours.from', 'csat.quietHours.to', 'csat.lowScore', 'csat.delay']));
  });
});
