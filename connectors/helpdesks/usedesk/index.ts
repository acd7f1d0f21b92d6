import { defineHelpdesk } from '../../../src/core/connector.ts';
import { createUsedeskHelpdesk } from './connector.ts';
import { createUsedeskHistory } from './history.ts';
import { USEDESK_SECRETS, UsedeskOptions } from './options.ts';

export { UsedeskOptions } from './options.ts';

export const definition = defineHelpdesk({
  kind: 'usedesk',
  options: UsedeskOptions,
  secrets: USEDESK_SECRETS,
  // Usedesk publishes no limit headers; its API notes give 150 requests a minute.
  rateLimits: { requestsPerMinute: 150 },
  create: createUsedeskHelpdesk,
  history: createUsedeskHistory,
});
