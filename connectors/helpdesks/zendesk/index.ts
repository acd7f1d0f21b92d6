import { defineHelpdesk } from '../../../src/core/connector.ts';
import { createZendeskHelpdesk } from './connector.ts';
import { createZendeskHistory } from './history.ts';
import { ZENDESK_SECRETS, ZendeskOptions } from './options.ts';

export { ZendeskOptions } from './options.ts';
export { zendeskSignature } from './agent-events.ts';

export const definition = defineHelpdesk({
  kind: 'zendesk',
  options: ZendeskOptions,
  secrets: ZENDESK_SECRETS,
  // Team plan; the X-Rate-Limit Zendesk reports on every answer replaces it (400, 700, 2500 on larger plans).
  rateLimits: { requestsPerMinute: 200 },
  create: createZendeskHelpdesk,
  history: createZendeskHistory,
});
