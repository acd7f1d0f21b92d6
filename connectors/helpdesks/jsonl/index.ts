import { defineHelpdesk } from '../../../src/core/connector.ts';
import { createJsonlHelpdesk } from './connector.ts';
import { JsonlOptions } from './options.ts';

export { JsonlOptions } from './options.ts';

export const definition = defineHelpdesk({
  kind: 'jsonl',
  options: JsonlOptions,
  create: createJsonlHelpdesk,
});
