import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { maskPersonalData } from '../../src/core/redact.ts';
import { createLogger } from '../../src/runtime/log.ts';
import { duplicateKeys } from '../e2e/harness.ts';

function capture(secrets: string[] = []) {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const log = createLogger({ level: 'debug', secrets, destination });
  return { log, lines: () => lines.join('') };
}

describe('JSON logs without secrets or personal data', () => {
  it('masks card numbers (last 4 shown), emails and phones in messages and fields', () => {
    const { log, lines } = capture();
    log.info({ text: 'карта 4111 1111 1111 1111, почта ivan.petrov@mail.ru, тел +998 90 123-45-67', order: 'ORDER-1234567890123' }, 'customer wrote 5500000000000004');
    const out = lines();
    expect(out).not.toContain('4111 1111 1111 1111');
    expect(out).toContain('**** **** **** 1111');
    expect(out).not.toContain('5500000000000004');
    expect(out).not.toContain('ivan.petrov@mail.ru');
    expect(out).not.toContain('123-45-67');
    expect(out).toContain('ORDER-1234567890123');
    expect(() => JSON.parse(out)).not.toThrow();
  });

  it('redacts secret-named keys and every configured secret value wherever it appears', () => {
    const secret = 'zd-super-secret-token-42';
    const { log, lines } = capture([secret]);
    log.warn({ headers: { authorization: 'Basic abc', 'x-other': 'fine' }, apiToken: 'tok-1', url: `https://x.example/api?key=${secret}` }, `failed with ${secret}`);
    log.error({ url: 'https://api.telegram.org/bot123456:AAE-secret_part/getMe' }, 'telegram down');
    const out = lines();
    expect(out).not.toContain(secret);
    expect(out).not.toContain('Basic abc');
    expect(out).not.toContain('tok-1');
    expect(out).not.toContain('AAE-secret_part');
    expect(out).toContain('x-other');
  });

  it('leaves ordinary numbers alone', () => {
    expect(maskPersonalData('ticket 12345, amount 1500000 UZS, 2026-11-22')).toBe('ticket 12345, amount 1500000 UZS, 2026-11-22');
  });

  it('writes each key once: repeated child bindings, a field named like a binding, pino\'s own keys', () => {
    const { log, lines } = capture();
    // The gateway binds `channel`, the connector binds it again, the line names it once more.
    const connector = log.child({ channel: 'telegram' }).child({ channel: 'telegram', kind: 'telegram' });
    connector.warn({ channel: 'telegram', error: 'boom', level: 'high', msg: 'field', time: 3 }, 'polling failed');
    connector.child({ part: 'store' }).child({ part: 'worker' }).info({}, 'nested');
    const out = lines().trim().split('\n');
    for (const line of out) expect(duplicateKeys(line), line).toEqual([]);
    const first = JSON.parse(out[0]!) as Record<string, unknown>;
    expect(first).toMatchObject({ level: 'warn', service: 'switchboard', channel: 'telegram', kind: 'telegram', error: 'boom', msg: 'polling failed', levelField: 'high', msgField: 'field', timeField: 3 });
    expect(JSON.parse(out[1]!)).toMatchObject({ part: 'worker', channel: 'telegram' });
  });

  it('the duplicate-key check itself sees a repeated key, also in nested objects, and not across objects', () => {
    expect(duplicateKeys('{"a":1,"b":{"a":2},"a":3}')).toEqual(['a']);
    expect(duplicateKeys('{"x":{"k":1,"k":2},"y":[{"k":1},{"k":2}]}')).toEqual(['k']);
    expect(duplicateKeys('{"s":"a \\"quoted\\" \\"s\\"","t":1}')).toEqual([]);
  });
});
