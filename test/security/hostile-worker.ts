import { Writable } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import { parse } from 'yaml';
import { readFileSync } from 'node:fs';
import { maskCards } from '../../src/core/mask/cards.ts';
import { maskEmails, maskPhones } from '../../src/core/mask/contacts.ts';
import { maskIbans } from '../../src/core/mask/ibans.ts';
import { maskMessage } from '../../src/core/privacy.ts';
import { redactText } from '../../src/core/redact.ts';
import { compileRules, evaluate } from '../../src/core/rules/engine.ts';
import { holds } from '../../connectors/channels/webhook/paths.ts';
import { replyText } from '../../connectors/channels/email/body.ts';
import { normalizeText } from '../../connectors/channels/email/parse.ts';
import { replySubject } from '../../connectors/channels/email/subjects.ts';
import { templateParameter } from '../../connectors/channels/whatsapp-cloud/send.ts';
import { createLogger } from '../../src/runtime/log.ts';
import { playerMessage } from '../fixtures/message.ts';

/** Runs one function on one hostile string, in a worker the test can stop if it never ends. */
const { fn, input } = workerData as { fn: string; input: string };
const shipped = parse(readFileSync(new URL('../../config/rules/igaming.yaml', import.meta.url), 'utf8')) as { rules: Parameters<typeof compileRules>[0] };
const bait = [{ name: 'bait', when: { text: { matches: ['(a+)+$', '(\\w+\\s?)*$', '(.*a){12}', '\\b(ж|жж)+\\b!'] } }, set: { tags: ['bait'] } }];

const run: Record<string, () => unknown> = {
  maskCards: () => maskCards(input, { cvv: true }),
  maskEmails: () => maskEmails(input),
  maskPhones: () => maskPhones(input),
  maskIbans: () => maskIbans(input),
  logRedaction: () => redactText(input),
  maskMessage: () => maskMessage(playerMessage(input, { raw: { text: input } }), { maskCards: true, maskCvv: true, maskIbans: true }),
  shippedRules: () => evaluate(compileRules(shipped.rules), { message: playerMessage(input), isFirst: true, now: new Date(), timezone: 'UTC' }),
  baitRules: () => evaluate(compileRules(bait as Parameters<typeof compileRules>[0]), { message: playerMessage(input), isFirst: true, now: new Date(), timezone: 'UTC' }),
  webhookCondition: () => holds({ body: { v: input }, path: '', query: {} }, { path: 'v', matches: '(a+)+$' }),
  emailText: () => normalizeText(input),
  emailSubject: () => replySubject(input),
  emailSignature: () => replyText(`${input}\n${input}:`),
  whatsappText: () => templateParameter(input),
  logLine: () => {
    const log = createLogger({ destination: new Writable({ write: (_c, _e, cb) => cb() }) });
    log.warn({ path: `/webhooks/generic/${input}` }, `webhook refused: ${input}`);
  },
};
run[fn]!();
parentPort?.postMessage('done');
