import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { Replies, Rule } from '../../src/core/rules/schema.ts';

const ShippedRules = z.strictObject({ rules: z.array(Rule), replies: Replies });
const Labeled = z.strictObject({
  messages: z.array(z.strictObject({
    text: z.string().min(1),
    topic: z.enum(['responsible_gaming', 'payments', 'kyc', 'bonus', 'bets', 'other']),
    lang: z.enum(['ru', 'uz', 'uz-cyrl', 'en', 'mixed']),
    tricky: z.boolean().optional(),
  })),
});
export type LabeledMessage = z.infer<typeof Labeled>['messages'][number];

const root = new URL('../../', import.meta.url);

/** `config/rules/igaming.yaml`, validated with the same schemas the config loader uses. */
export function loadShippedRules(): z.infer<typeof ShippedRules> {
  return ShippedRules.parse(parse(readFileSync(new URL('config/rules/igaming.yaml', root), 'utf8')));
}

export function loadLabeled(file: string): LabeledMessage[] {
  return Labeled.parse(parse(readFileSync(new URL(`test/rules/${file}`, root), 'utf8'))).messages;
}
