import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, type ConfigIssue } from '../../src/config/load.ts';
import { lineOf, writeTree } from '../fixtures/config/files.ts';
import { fakeRegistry } from '../fixtures/config/registry.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

/** Writes the files, loads `config.yaml`, returns the dir too. */
async function load(files: Record<string, string>, env: NodeJS.ProcessEnv = {}) {
  const tree = await writeTree(files);
  cleanups.push(tree.cleanup);
  const loaded = await loadConfig(path.join(tree.dir, 'config.yaml'), fakeRegistry, env);
  return { loaded, dir: tree.dir };
}

/** Loads and expects a ConfigError; returns it and the dir. */
async function loadError(files: Record<string, string>, env: NodeJS.ProcessEnv = {}) {
  const tree = await writeTree(files);
  cleanups.push(tree.cleanup);
  try {
    await loadConfig(path.join(tree.dir, 'config.yaml'), fakeRegistry, env);
  } catch (err) {
    if (err instanceof ConfigError) return { err, dir: tree.dir };
    throw err;
  }
  throw new Error('expected a ConfigError');
}

function issueAt(err: ConfigError, keyPath: string): ConfigIssue {
  const issue = err.issues.find((i) => i.path === keyPath);
  if (issue === undefined) throw new Error(`no issue at ${keyPath}; got:\n${err.message}`);
  return issue;
}

const JSONL = 'helpdesk: { kind: jsonl }\n';

describe('loadConfig: a valid file', () => {
  const main = `server:
  port: \${PORT}
  publicUrl: \${PUBLIC_URL:-https://gw.example.com/}
  adminToken: \${ADMIN_TOKEN:-}
  trustProxy: \${TRUST_PROXY}
helpdesk:
  kind: zendesk
  baseUrl: https://acme.zendesk.com
  email: agent@example.com
  apiToken: \${file:secrets/zendesk_token}
  webhookSecret: "\${HOOK_SECRET}"
  groups: { payments: 360000000001 }
channels:
  tg:
    kind: telegram
    token: \${TG_TOKEN}
    secretToken: "\${TG_SECRET}"
include: [rules/extra.yaml]
rules:
  - name: local
    when: { channel: tg }
    set: { tags: [vip] }
replies:
  hello: { en: "Hi $\${name}" }
`;
  const extra = `rules:
  - name: withdrawal
    when: { text: { matches: [withdraw] } }
    set: { group: payments, priority: high }
    reply: wd_ack
replies:
  wd_ack: { en: "We are on it." }
`;
  const env = { PORT: '9000', TRUST_PROXY: 'true', TG_TOKEN: '123456:ABC-def', TG_SECRET: 'hook_secret_1', HOOK_SECRET: '20240101' };

  it('substitutes env and file references, types them by the schema and applies defaults', async () => {
    const { loaded } = await load({ 'config.yaml': main, 'rules/extra.yaml': extra, 'secrets/zendesk_token': 'zd-secret-token-value\n' }, env);
    const c = loaded.config;
    expect(c.server.port).toBe(9000);
    expect(c.server.trustProxy).toBe(true);
    expect(c.server.publicUrl).toBe('https://gw.example.com');
    expect(c.server).not.toHaveProperty('adminToken');
    expect(c.server.host).toBe('0.0.0.0');
    expect(c.helpdesk).toMatchObject({ kind: 'zendesk', apiToken: 'zd-secret-token-value', groups: { payments: 360000000001 } });
    // A numeric secret stays a string: the schema wants one.
    expect(c.helpdesk.webhookSecret).toBe('20240101');
    expect(c.channels.tg).toMatchObject({ kind: 'telegram', token: '123456:ABC-def', secretToken: 'hook_secret_1', mode: 'webhook' });
    expect(c.store).toEqual({ kind: 'embedded', path: './data' });
    expect(c.timezone).toBe('UTC');
    expect(c.defaultLanguage).toBe('en');
    expect(c.delivery).toEqual({ maxAttempts: 12, baseDelayMs: 1000, maxDelayMs: 600000, concurrency: 8, floodLimit: { messages: 30, perSeconds: 60 }, stormShare: 0.7, maxWaitingWebhooks: 100 });
    expect(c.replies.hello).toEqual({ en: 'Hi ${name}' });
  });

  it('appends included rules after the main file’s and merges replies', async () => {
    const { loaded, dir } = await load({ 'config.yaml': main, 'rules/extra.yaml': extra, 'secrets/zendesk_token': 'x\n' }, env);
    expect(loaded.config.rules.map((r) => r.name)).toEqual(['local', 'withdrawal']);
    expect(Object.keys(loaded.config.replies).sort()).toEqual(['hello', 'wd_ack']);
    expect(loaded.file).toBe(path.join(dir, 'config.yaml'));
    expect(loaded.files).toEqual([path.join(dir, 'config.yaml'), path.join(dir, 'rules/extra.yaml')]);
    expect(loaded.warnings).toEqual([]);
  });

  it('lists secret values for log redaction, and nothing that is not secret', async () => {
    const { loaded } = await load({ 'config.yaml': main, 'rules/extra.yaml': extra, 'secrets/zendesk_token': 'zd-secret-token-value\n' }, env);
    expect(loaded.secrets).toEqual(expect.arrayContaining(['zd-secret-token-value', '123456:ABC-def', 'hook_secret_1', '20240101']));
    expect(loaded.secrets).not.toContain('agent@example.com');
    expect(loaded.secrets).not.toContain('https://acme.zendesk.com');
  });
});

describe('loadConfig: interpolation errors', () => {
  it('names an unset variable and the file:line where it is used', async () => {
    const text = `helpdesk:
  kind: zendesk
  baseUrl: https://acme.zendesk.com
  email: agent@example.com
  apiToken: \${ZENDESK_API_TOKEN}
`;
    const { err, dir } = await loadError({ 'config.yaml': text });
    const line = lineOf(text, 'apiToken');
    expect(err.issues).toHaveLength(1); // no "is required" echo for the same key
    expect(err.issues[0]).toMatchObject({ file: path.join(dir, 'config.yaml'), line, path: 'helpdesk.apiToken' });
    expect(err.issues[0]?.message).toMatch(/environment variable ZENDESK_API_TOKEN is not set/);
    expect(err.message).toContain(`config.yaml:${line}:13 helpdesk.apiToken: environment variable ZENDESK_API_TOKEN is not set`);
  });

  it('names a missing ${file:…} and a malformed reference', async () => {
    const text = `${JSONL}server:\n  adminToken: \${file:secrets/missing}\n  host: \${not valid}\n`;
    const { err } = await loadError({ 'config.yaml': text });
    expect(issueAt(err, 'server.adminToken').message).toMatch(/cannot read file 'secrets\/missing'.*ENOENT/);
    expect(issueAt(err, 'server.host').message).toMatch(/invalid reference/);
  });

  it('never lets a substituted value add YAML structure', async () => {
    const { loaded } = await load({ 'config.yaml': `${JSONL}server:\n  host: \${HOST}\n` }, { HOST: 'x\nport: 1' });
    expect(loaded.config.server.host).toBe('x\nport: 1');
    expect(loaded.config.server.port).toBe(8080);
  });
});

describe('loadConfig: validation errors at file:line', () => {
  it('suggests the key meant by a typo, at the top level and inside a channel', async () => {
    const text = `${JSONL}chanels: {}
channels:
  tg:
    kind: telegram
    tokn: "123:abc"
    secretToken: s3cret
`;
    const { err } = await loadError({ 'config.yaml': text });
    expect(issueAt(err, 'chanels')).toMatchObject({ line: lineOf(text, 'chanels'), column: 1 });
    expect(issueAt(err, 'chanels').message).toBe("unknown key 'chanels', did you mean 'channels'?");
    expect(issueAt(err, 'channels.tg.tokn')).toMatchObject({ line: lineOf(text, 'tokn'), column: 5 });
    expect(issueAt(err, 'channels.tg.tokn').message).toBe("unknown key 'tokn', did you mean 'token'?");
    // The missing real key is reported too, at the channel.
    expect(issueAt(err, 'channels.tg.token')).toMatchObject({ line: lineOf(text, 'tg:'), message: 'is required' });
  });

  it('reports a wrong type deep inside with its line and key path', async () => {
    const text = `${JSONL}channels:
  contact:
    kind: webform
    fields:
      email: { type: email, required: true }
      topic:
        enum: payments
`;
    const { err } = await loadError({ 'config.yaml': text });
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]).toMatchObject({
      line: lineOf(text, 'enum: payments'),
      column: 15,
      path: 'channels.contact.fields.topic.enum',
      message: "expected a list, got 'payments'",
    });
  });

  it('quotes back the value it could not use, but never a secret', async () => {
    const text = `${JSONL}channels:
  contact:
    kind: webform
    fields:
      email: { type: email, required: ture }
      message: { maxLength: many }
  tg:
    kind: telegram
    token: 12345
    mode: polling
`;
    const { err } = await loadError({ 'config.yaml': text });
    expect(issueAt(err, 'channels.contact.fields.email.required').message).toBe("expected true or false, got 'ture'; did you mean true?");
    expect(issueAt(err, 'channels.contact.fields.message.maxLength').message).toBe("expected a number, got 'many'");
    expect(issueAt(err, 'channels.tg.token').message).toBe('expected a string, got a number');
  });

  it('reports an error in an included file with that file’s name and line', async () => {
    const extra = `rules:
  - name: ok
    set: { tags: [a] }
  - name: typo
    set: { priority: hgh }
`;
    const { err, dir } = await loadError({ 'config.yaml': `${JSONL}include: [rules/extra.yaml]\n`, 'rules/extra.yaml': extra });
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]).toMatchObject({
      file: path.join(dir, 'rules/extra.yaml'),
      line: lineOf(extra, 'hgh'),
      path: 'rules[1].set.priority',
    });
    expect(err.issues[0]?.message).toContain("did you mean 'high'?");
    expect(err.message).toContain(`rules/extra.yaml:${lineOf(extra, 'hgh')}:`);
  });

  it('numbers included rules within their own file even after the main file’s rules', async () => {
    const extra = 'rules:\n  - name: x\n    sett: {}\n';
    const { err } = await loadError({
      'config.yaml': `${JSONL}include: [extra.yaml]\nrules:\n  - name: a\n  - name: b\n`,
      'extra.yaml': extra,
    });
    expect(issueAt(err, 'rules[0].sett')).toMatchObject({ file: expect.stringMatching(/extra\.yaml$/), line: 3 });
  });

  it('an included file holds only rules and replies', async () => {
    const extra = 'include: [more.yaml]\nservr: { port: 1 }\nrules: []\n';
    const { err } = await loadError({ 'config.yaml': `${JSONL}include: [extra.yaml]\n`, 'extra.yaml': extra });
    expect(err.issues.map((i) => [i.path, i.line, i.message])).toEqual([
      ['include', 1, 'include: is only allowed in the main config file'],
      ['servr', 2, "unknown key 'servr' in an included file, allowed: rules, replies"],
    ]);
  });

  it('lists the known kinds for an unknown kind', async () => {
    const text = 'helpdesk:\n  kind: zendsk\nchannels:\n  wa:\n    kind: whatsapp\n';
    const { err } = await loadError({ 'config.yaml': text });
    expect(issueAt(err, 'helpdesk.kind')).toMatchObject({
      line: 2,
      message: "unknown helpdesk kind 'zendsk', did you mean 'zendesk'? (known kinds: zendesk, jsonl)",
    });
    expect(issueAt(err, 'channels.wa.kind')).toMatchObject({
      line: 5,
      message: "unknown channel kind 'whatsapp' (known kinds: telegram, webform)",
    });
  });

  it('reports YAML syntax errors with file:line:col', async () => {
    const text = `${JSONL}channels:\n  tg: { kind: telegram, token: "123:abc\n`;
    const { err, dir } = await loadError({ 'config.yaml': text });
    expect(err.issues.length).toBeGreaterThan(0);
    expect(err.issues[0]?.file).toBe(path.join(dir, 'config.yaml'));
    expect(err.issues[0]?.line).toBeGreaterThanOrEqual(3);
    expect(err.message).toMatch(/config\.yaml:\d+:\d+ /);
  });

  it('explains the usual cause when a ${…} inside { … } breaks the YAML', async () => {
    const { err } = await loadError({ 'config.yaml': `${JSONL}server: { port: \${PORT} }\n` });
    expect(err.issues[0]).toMatchObject({ line: 2, message: expect.stringContaining('write "${NAME}" in quotes') });
  });

  it('reports an unknown time zone with the closest real one', async () => {
    const { err } = await loadError({ 'config.yaml': `${JSONL}timezone: Europe/Moskow\n` });
    expect(issueAt(err, 'timezone')).toMatchObject({ line: 2, message: "unknown IANA time zone, did you mean 'Europe/Moscow'?" });
  });

  it('reports a file that is not there', async () => {
    await expect(loadConfig('/nonexistent/switchboard.yaml', fakeRegistry, {})).rejects.toThrow(/cannot read the config file: ENOENT/);
  });
});

describe('loadConfig: references between sections', () => {
  it('a rule’s reply must name an existing reply, reported at the rule', async () => {
    const text = `${JSONL}rules:
  - name: rg
    reply: rg_ak
replies:
  rg_ack: { en: "We hear you." }
`;
    const { err } = await loadError({ 'config.yaml': text });
    expect(issueAt(err, 'rules[0].reply')).toMatchObject({
      line: lineOf(text, 'rg_ak'),
      message: "no reply named 'rg_ak' in replies; did you mean 'rg_ack'?",
    });
  });

  it('a reply defined in two files is an error naming both', async () => {
    const main = `${JSONL}include: [extra.yaml]\nreplies:\n  ack: { en: a }\n`;
    const extra = 'replies:\n  ack: { en: b }\n';
    const { err } = await loadError({ 'config.yaml': main, 'extra.yaml': extra });
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]).toMatchObject({ file: expect.stringMatching(/extra\.yaml$/), line: 2, path: 'replies.ack' });
    expect(err.issues[0]?.message).toMatch(new RegExp(`already defined in .*config\\.yaml:${lineOf(main, 'ack:')}`));
  });

  it('notify targets must name a configured notifier; without notifiers they only warn', async () => {
    const rules = 'rules:\n  - name: rg\n    notify: [slak:compliance]\n';
    const withNotifiers = `${JSONL}notifiers:\n  slack: { kind: slack, webhookUrl: "https://hooks.example.com/x" }\n${rules}`;
    const { err } = await loadError({ 'config.yaml': withNotifiers });
    expect(issueAt(err, 'rules[0].notify[0]')).toMatchObject({
      line: lineOf(withNotifiers, 'slak:'),
      message: "no notifier 'slak' in notifiers; did you mean 'slack'?",
    });

    const { loaded } = await load({ 'config.yaml': `${JSONL}${rules}` });
    expect(loaded.warnings).toEqual([expect.objectContaining({ path: 'rules[0].notify[0]', message: expect.stringMatching(/no notifiers are configured/) })]);
  });

  it('a pattern the rules engine cannot compile is reported at the pattern', async () => {
    const text = `${JSONL}rules:\n  - name: bad\n    when: { text: { matches: [ok, "(unclosed"] } }\n`;
    const { err } = await loadError({ 'config.yaml': text });
    expect(issueAt(err, 'rules[0].when.text.matches[1]')).toMatchObject({ line: 4, message: expect.stringMatching(/invalid regular expression/) });
  });

  it('a pattern with no linear-time form is refused at its line, naming the construct', async () => {
    const text = `${JSONL}rules:\n  - name: slow\n    when:\n      text:\n        matches:\n          - ok\n          - '(?<!not )addict(?!ive)'\n          - '(a)\\1'\n`;
    const { err } = await loadError({ 'config.yaml': text });
    expect(issueAt(err, 'rules[0].when.text.matches[1]')).toMatchObject({ line: lineOf(text, 'addict'), message: expect.stringMatching(/lookahead .*linear time/) });
  });

  it('two rules with one name are an error naming the first', async () => {
    const text = `${JSONL}rules:\n  - name: dup\n  - name: dup\n`;
    const { err } = await loadError({ 'config.yaml': text });
    expect(issueAt(err, 'rules[1].name')).toMatchObject({ line: 4, message: expect.stringMatching(/already used at .*config\.yaml:3$/) });
  });

  it('warns about a rule group the helpdesk does not map and a channel that does not exist', async () => {
    const text = `helpdesk:
  kind: jsonl
  groups: { payments: 1 }
channels:
  tg: { kind: telegram, token: "1:a", mode: polling }
rules:
  - name: r
    when: { channel: tgg }
    set: { group: paymens }
`;
    const { loaded } = await load({ 'config.yaml': text });
    expect(loaded.warnings.map((w) => [w.path, w.line, w.message])).toEqual([
      ['rules[0].when.channel', 8, "no channel 'tgg' is configured, so this never matches; did you mean 'tg'?"],
      ['rules[0].set.group', 9, expect.stringMatching(/not mapped in helpdesk\.groups.*did you mean 'payments'\?/)],
    ]);
  });
});

describe('loadConfig: secrets are never echoed', () => {
  it('no error message contains a secret value, whatever went wrong around it', async () => {
    const secrets = {
      TG_TOKEN: 'not-a-token-SeCrEt-1',
      ZD_TOKEN: 'zendesk-SeCrEt-2',
    };
    const text = `helpdesk:
  kind: zendesk
  baseUrl: https://acme.zendesk.com
  email: agent@example.com
  apiToken: \${ZD_TOKEN}
  webhookSecret: [literal-SeCrEt-3]
channels:
  tg:
    kind: telegram
    token: \${TG_TOKEN}
    secretToken: "bad secret SeCrEt-4"
  tg2:
    kind: telegram
    token: "1:a"
    mode: \${ZD_TOKEN}
    secretToken: ok
server:
  adminToken: short-SeCrEt
`;
    const { err } = await loadError({ 'config.yaml': text }, secrets);
    // Each of these is wrong, so each is reported…
    expect(err.issues.map((i) => i.path).sort()).toEqual([
      'channels.tg.secretToken',
      'channels.tg.token',
      'channels.tg2.mode',
      'helpdesk.webhookSecret',
      'server.adminToken',
    ]);
    // …and not one message shows the value.
    for (const secret of [...Object.values(secrets), 'literal-SeCrEt-3', 'bad secret SeCrEt-4', 'short-SeCrEt']) {
      expect(err.message).not.toContain(secret);
    }
    expect(err.message).not.toMatch(/SeCrEt/);
  });

  it('a YAML syntax error does not quote the line it is on', async () => {
    const { err } = await loadError({ 'config.yaml': `${JSONL}channels:\n  tg: { kind: telegram, token: "123:SeCrEt\n` });
    expect(err.message).not.toContain('SeCrEt');
  });
});
