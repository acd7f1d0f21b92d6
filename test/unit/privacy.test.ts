import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { maskCards } from '../../src/core/mask/cards.ts';
import { maskIbans } from '../../src/core/mask/ibans.ts';
import { maskedNote, maskMessage } from '../../src/core/privacy.ts';
import { playerMessage } from '../fixtures/message.ts';

/** The examples table in docs/privacy.md is the specification: every row is checked here. */
const doc = readFileSync(new URL('../../docs/privacy.md', import.meta.url), 'utf8');
const table = doc.slice(doc.indexOf('<!-- examples -->'), doc.indexOf('<!-- /examples -->'));
const rows = table.split('\n').filter((l) => l.startsWith('| `')).map((l) => {
  const [input, output] = [...l.matchAll(/`([^`]*)`/g)].map((m) => m[1]!);
  return { input: input!, output: output! };
});

describe('card numbers told apart from phones and ids (docs/privacy.md)', () => {
  it('has the examples', () => expect(rows.length).toBeGreaterThanOrEqual(12));
  it.each(rows)('$input → $output', ({ input, output }) => {
    expect(maskCards(input).text).toBe(output);
  });

  it('masks a CVV next to a card only when asked, and never a date', () => {
    expect(maskCards('4111 1111 1111 1111 exp 12/27 cvv 123', { cvv: true }).text).toBe('**** **** **** 1111 exp 12/27 cvv ***');
    expect(maskCards('4111 1111 1111 1111 12/27', { cvv: true }).text).toBe('**** **** **** 1111 12/27');
  });

  it('masks a long run holding a card whole, so no digit of the card shows', () => {
    expect(maskCards('4111111111111111 1234').text).toBe('**************** ****');
  });

  it('masks IBANs that pass the mod-97 check, and only those', () => {
    expect(maskIbans('IBAN GB82 WEST 1234 5698 7654 32, thanks').text).toBe('IBAN GB82 **** **** **** **54 32, thanks');
    expect(maskIbans('GB82 WEST 1234 5698 7654 33').ibans).toBe(0);
  });
});

describe('masking a message at accept', () => {
  it('masks text, form fields and the raw payload, counts each number once, and says so in a note', () => {
    const text = 'карта 4111 1111 1111 1111 и 4276 1600 1234 5678, тел +998 90 123-45-67';
    const m = maskMessage(playerMessage(text, { form: { formId: 'f', fields: { message: text } }, raw: { body: { message: text } } }), { maskCards: true, maskCvv: false, maskIbans: false });
    expect(JSON.stringify(m)).not.toMatch(/4111 1111|1600 1234/);
    expect(m.text).toBe('карта **** **** **** 1111 и **** **** **** 5678, тел +998 90 123-45-67');
    expect(maskedNote([m])).toMatch(/masked 2 card numbers/);
  });

  it('leaves the message alone when nothing is masked, or masking is off', () => {
    const m = playerMessage('ID 123456789');
    expect(maskMessage(m, { maskCards: true, maskCvv: false, maskIbans: false })).toBe(m);
    const off = playerMessage('4111 1111 1111 1111');
    expect(maskMessage(off, { maskCards: false, maskCvv: false, maskIbans: false }).text).toBe('4111 1111 1111 1111');
    expect(maskedNote([m])).toBeUndefined();
  });
});
