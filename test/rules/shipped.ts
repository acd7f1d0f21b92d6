import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { Replies, Rule } from '../../src/core/rules/schema.ts';
import { TextModel } from '../../src/core/model/text-model.ts';

const ShippedRules = z.strictObject({ rules: z.array(Rule), replies: Replies });
const LabeledMessage = z.strictObject({
  text: z.string().min(1),
  topic: z.enum(['responsible_gaming', 'payments', 'kyc', 'bonus', 'bets', 'other']),
  lang: z.enum(['ru', 'uz', 'uz-cyrl', 'en', 'mixed']),
  tricky: z.boolean().optional(),
});
export type LabeledMessage = z.infer<typeof LabeledMessage>;
/** A set is `messages: [...]`, or (as blind sets are written) a plain list of messages. */
const LabeledSet = z.union([
  z.strictObject({ messages: z.array(LabeledMessage) }).transform((s) => s.messages),
  z.array(LabeledMessage),
]);

const root = new URL('../../', import.meta.url);

/** `config/rules/igaming.yaml`, validated with the same schemas the config loader uses. */
export function loadShippedRules(): z.infer<typeof ShippedRules> {
  return ShippedRules.parse(parse(readFileSync(new URL('config/rules/igaming.yaml', root), 'utf8')));
}

export function loadLabeled(file: string): LabeledMessage[] {
  return LabeledSet.parse(parse(readFileSync(new URL(`test/rules/${file}`, root), 'utf8')));
}

/** `config/models/igaming.json`: the text model the shipped rules ask (`npm run model:train`). */
export function loadShippedModel(): TextModel {
  return TextModel.fromJSON(JSON.parse(readFileSync(new URL('config/models/igaming.json', root), 'utf8')));
}
