import { NormalizedMessage } from '../src/core/message.ts';
import { maskMessage } from '../src/core/privacy.ts';

/**
 * `node bench/masking.ts`: what card masking adds to accepting one message, next to the work
 * accept already does for it (validating the draft into a NormalizedMessage), measured in the
 * same run. Prints Markdown for BENCHMARKS.md.
 */

const chat = 'Здравствуйте! Вывод не пришёл уже 3 дня, ID игрока 123456789, телефон +998 90 123-45-67. Помогите пожалуйста, очень жду.';
const withCard = `${chat} Карта 4111 1111 1111 1111.`;
const email = `${chat}\n\n${'> цитата из прошлого письма, 2025-11-03 10:15, сумма 1 500 000 сум\n'.repeat(60)}`;
const draft = (text: string) => ({
  id: '01JBENCH000000000000000000', channel: { id: 'contact', kind: 'webform' }, kind: 'form', externalId: 's1', dedupeKey: 'contact:s1',
  conversation: { externalId: 'c1', subject: 'Вывод средств' }, sender: { externalId: 'p@example.com', email: 'p@example.com', displayName: 'Dilnoza' },
  text, form: { formId: 'contact', fields: { message: text, topic: 'payments' } }, occurredAt: new Date().toISOString(), receivedAt: new Date().toISOString(),
  raw: { body: { message: text, topic: 'payments', email: 'p@example.com' } },
});
const opts = { maskCards: true, maskCvv: false, maskIbans: false };

function perMessageMicros(fn: () => unknown, ms = 1500): number {
  for (let i = 0; i < 2000; i++) fn();
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < ms) {
    for (let i = 0; i < 200; i++) fn();
    n += 200;
  }
  return ((performance.now() - start) * 1000) / n;
}

console.log('| message | chars | accept\'s parse µs | masking µs | masking / parse |');
console.log('|---|---:|---:|---:|---:|');
for (const [name, text] of [['chat, no number', chat], ['chat with a card', withCard], ['email with a quoted thread', email]] as const) {
  const d = draft(text);
  const parsed = NormalizedMessage.parse(d);
  const parse = perMessageMicros(() => NormalizedMessage.parse(d));
  const mask = perMessageMicros(() => maskMessage(parsed, opts));
  console.log(`| ${name} | ${text.length} | ${parse.toFixed(1)} | ${mask.toFixed(1)} | ${(mask / parse).toFixed(2)}× |`);
}
