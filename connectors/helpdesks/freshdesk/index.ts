import { defineHelpdesk } from '../../../src/core/connector.ts';
import { createFreshdeskHelpdesk } from './connector.ts';
import { createFreshdeskHistory } from './history.ts';
import { FRESHDESK_SECRETS, FreshdeskOptions } from './options.ts';

export { FreshdeskOptions } from './options.ts';

/**
 * Freshdesk caps some endpoints below the account's per-minute limit, by plan: Growth (200/min)
 * 80 ticket creates and 80 updates, 20 ticket and 20 contact lists; Pro (400) 160 and 100;
 * Enterprise (700) 280 and 200. Creates and updates are 40% of the total on every plan.
 */
export function freshdeskEndpointLimits(perMinute: number): Record<string, number> {
  const lists = perMinute >= 700 ? (perMinute * 2) / 7 : perMinute >= 400 ? perMinute / 4 : perMinute / 10;
  const writes = perMinute * 0.4;
  return {
    'tickets:create': Math.max(1, Math.floor(writes)),
    'tickets:update': Math.max(1, Math.floor(writes)),
    'tickets:list': Math.max(1, Math.floor(lists)),
    'contacts:list': Math.max(1, Math.floor(lists)),
  };
}

export const definition = defineHelpdesk({
  kind: 'freshdesk',
  options: FreshdeskOptions,
  secrets: FRESHDESK_SECRETS,
  // Growth plan; the X-RateLimit-Total Freshdesk reports on every answer replaces it.
  rateLimits: { requestsPerMinute: 200, endpoints: freshdeskEndpointLimits },
  create: createFreshdeskHelpdesk,
  history: createFreshdeskHistory,
});
