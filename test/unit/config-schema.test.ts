import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
// ajv comes with fastify; it checks the generated schema against the draft-07 meta-schema.
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { registry } from '../../connectors/registry.ts';
import { loadConfig } from '../../src/config/load.ts';
import { configJsonSchema, rulesJsonSchema, type ConnectorRegistry } from '../../src/config/schema.ts';
import { messageJsonSchema } from '../../src/core/message.ts';
import { fakeRegistry } from '../fixtures/config/registry.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const DEMO = path.join(root, 'config/demo.yaml');
const EXAMPLE = path.join(root, 'config/switchboard.example.yaml');
const EXAMPLE_ENV = {
  PUBLIC_URL: 'https://support.example.com',
  ZENDESK_EMAIL: 'agent@example.com',
  ZENDESK_API_TOKEN: 'zendesk-api-token',
  ZENDESK_WEBHOOK_SECRET: 'zendesk-signing-secret',
  TELEGRAM_BOT_TOKEN: '123456:ABC-def_ghi',
  TELEGRAM_WEBHOOK_SECRET: 'telegram_webhook_secret',
};

function validator(reg: ConnectorRegistry) {
  const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
  return ajv.compile(configJsonSchema(reg)); // throws when the schema itself is invalid
}

describe('configJsonSchema', () => {
  it('is a valid JSON Schema that carries every connector’s options with their descriptions', () => {
    const schema = configJsonSchema(fakeRegistry);
    expect(new Ajv({ strict: false }).validateSchema(schema)).toBe(true);
    const text = JSON.stringify(schema);
    expect(text).toContain('"const":"telegram"');
    expect(text).toContain('"const":"webform"');
    expect(text).toContain('"const":"zendesk"');
    expect(text).toContain('"webhookReplayWindowSec"');
    expect(text).toContain('form fields by name');
    expect(text).toContain('symbolic group name (used by rules)');
  });

  it('accepts what the loader accepts, ${…} included, and rejects a typo', () => {
    const validate = validator(fakeRegistry);
    const raw = parse(`
server:
  port: \${PORT:-8080}
  trustProxy: \${TRUST}
helpdesk: { kind: zendesk, baseUrl: https://acme.zendesk.com, email: a@example.com, apiToken: "\${ZD_TOKEN}" }
channels:
  tg: { kind: telegram, token: "\${TG_TOKEN}", secretToken: s }
  contact: { kind: webform, fields: { email: { type: email, required: true } } }
rules:
  - name: r
    when: { any: [{ text: { matches: [x] } }, { not: { channel: tg } }] }
    set: { priority: high }
`);
    expect(validate(raw), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ ...raw, chanels: {} })).toBe(false);
    expect(validate({ ...raw, channels: { tg: { kind: 'telegram', tokn: 'x' } } })).toBe(false);
    expect(validate({ ...raw, helpdesk: { kind: 'zendsk' } })).toBe(false);
  });

  it('checks an entry only against the kind it names: one typo, one error', () => {
    const validate = validator(registry);
    const config = {
      helpdesk: { kind: 'jsonl' },
      channels: { tg: { kind: 'telegram', token: '123:abc', mode: 'polling', tokn: 'x' } },
    };
    expect(validate(config)).toBe(false);
    const errors = (validate.errors ?? []).filter((e) => e.keyword !== 'if');
    expect(errors, JSON.stringify(errors)).toHaveLength(1);
    expect(errors[0]).toMatchObject({ keyword: 'additionalProperties', params: { additionalProperty: 'tokn' }, instancePath: '/channels/tg' });
    // A kind nobody has: one error, listing the kinds there are.
    expect(validate({ ...config, channels: { tg: { kind: 'telegramm', token: 'x' } } })).toBe(false);
    const kindErrors = (validate.errors ?? []).filter((e) => e.keyword !== 'if');
    expect(kindErrors).toHaveLength(1);
    expect(kindErrors[0]).toMatchObject({ keyword: 'enum', instancePath: '/channels/tg/kind' });
    expect(kindErrors[0]!.params).toMatchObject({ allowedValues: expect.arrayContaining(['telegram', 'email', 'webform']) });
  });
});

describe('rulesJsonSchema', () => {
  const IGAMING = path.join(root, 'config/rules/igaming.yaml');

  it('accepts the shipped rules file, which names it for editors, and refuses what a rules file cannot hold', async () => {
    const validate = new Ajv({ strict: false, allErrors: true, validateFormats: false }).compile(rulesJsonSchema());
    const text = await readFile(IGAMING, 'utf8');
    expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../rules.schema.json');
    expect(validate(parse(text)), JSON.stringify(validate.errors)).toBe(true);
    expect(validate({ rules: [{ name: 'r', set: { priority: 'hihg' } }] })).toBe(false);
    expect(validate({ helpdesk: { kind: 'jsonl' } })).toBe(false);
  });

  it('the committed schema files are what `switchboard schema --write` makes', async () => {
    const committed = async (name: string): Promise<unknown> => JSON.parse(await readFile(path.join(root, 'config', name), 'utf8'));
    expect(await committed('rules.schema.json')).toEqual(rulesJsonSchema());
    expect(await committed('switchboard.schema.json')).toEqual(configJsonSchema(registry));
    expect(await committed('message.schema.json')).toEqual(messageJsonSchema());
  });
});

describe('the shipped config files, with the real connectors', () => {
  it('config/demo.yaml starts with no environment at all', async () => {
    const loaded = await loadConfig(DEMO, registry, {});
    expect(loaded.config.helpdesk).toMatchObject({ kind: 'jsonl', path: './data/demo/tickets.jsonl' });
    expect(loaded.config.store).toEqual({ kind: 'embedded', path: './data/demo' });
    expect(loaded.config.channels.contact).toMatchObject({ kind: 'webform' });
    expect(loaded.config.server).not.toHaveProperty('adminToken');
    expect(loaded.config.rules.length).toBeGreaterThan(0); // from rules/igaming.yaml
    expect(loaded.files).toContain(path.join(root, 'config/rules/igaming.yaml'));
    expect(loaded.secrets).toEqual([]);
  });

  it('config/switchboard.example.yaml loads with its variables set, and they are all secret where they should be', async () => {
    const loaded = await loadConfig(EXAMPLE, registry, EXAMPLE_ENV);
    expect(Object.keys(loaded.config.channels)).toEqual(['telegram', 'contact-form']);
    expect(loaded.config.helpdesk.kind).toBe('zendesk');
    expect(loaded.config.rules.map((r) => r.name).slice(0, 2)).toEqual(['form-topic', 'after-hours']);
    expect(loaded.secrets.sort()).toEqual([
      EXAMPLE_ENV.TELEGRAM_BOT_TOKEN,
      EXAMPLE_ENV.TELEGRAM_WEBHOOK_SECRET,
      EXAMPLE_ENV.ZENDESK_API_TOKEN,
      EXAMPLE_ENV.ZENDESK_WEBHOOK_SECRET,
    ].sort());
    // Every group and field the shipped rules use is mapped in the example.
    expect(loaded.warnings.filter((w) => /helpdesk\.(groups|fields)/.test(w.message))).toEqual([]);
  });

  it('.env.example names exactly the variables the example config needs', async () => {
    const names = (await readFile(path.join(root, '.env.example'), 'utf8')).split('\n')
      .filter((l) => /^[A-Z_][A-Z0-9_]*=/.test(l)).map((l) => l.slice(0, l.indexOf('=')));
    expect(names.sort()).toEqual(Object.keys(EXAMPLE_ENV).sort());
    for (const name of names) {
      const { [name]: _left, ...rest } = EXAMPLE_ENV as Record<string, string>;
      await expect(loadConfig(EXAMPLE, registry, rest), `without ${name}`).rejects.toThrow(name);
    }
  });

  it('both pass the editor schema as written', async () => {
    const validate = validator(registry);
    for (const file of [DEMO, EXAMPLE]) {
      const raw: unknown = parse(await readFile(file, 'utf8'));
      expect(validate(raw), `${file}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });
});
