import { z } from 'zod';
import { HelpdeskCommonOptions } from '../../../src/core/connector.ts';

export const JsonlOptions = HelpdeskCommonOptions.extend({
  path: z.string().min(1).optional()
    .describe('file the dry run appends to, one JSON line per helpdesk call; default <store.path>/dry-run.jsonl'),
});
export type JsonlOptions = z.infer<typeof JsonlOptions>;
