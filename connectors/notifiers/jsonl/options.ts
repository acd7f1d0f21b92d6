import { z } from 'zod';

export const JsonlNotifierOptions = z.strictObject({
  path: z.string().min(1).describe('file each notice is appended to as one JSON line, e.g. ./data/notices.jsonl'),
  excerptLength: z.number().int().min(20).max(2000).default(300).describe('characters of the message in the notice'),
});
export type JsonlNotifierOptions = z.infer<typeof JsonlNotifierOptions>;
