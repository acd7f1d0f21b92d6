import { z } from 'zod';
import { HelpdeskCommonOptions } from '../../../src/core/connector.ts';

export const ZendeskOptions = HelpdeskCommonOptions.extend({
  baseUrl: z.url({ protocol: /^https?$/ })
    .describe('your Zendesk address, e.g. https://acme.zendesk.com (the API lives under /api/v2)'),
  email: z.string().min(1).optional().describe('the agent or admin the API token belongs to'),
  apiToken: z.string().min(1).optional().describe('Admin Center → Apps and integrations → Zendesk API → API token'),
  oauthToken: z.string().min(1).optional().describe('an OAuth access token, instead of email + apiToken'),
  webhookSecret: z.string().min(1).optional()
    .describe("the agent-reply webhook's signing secret (Admin Center → Webhooks → Reveal secret)"),
  webhookReplayWindowSec: z.number().int().positive().default(300)
    .describe('agent-reply webhooks signed longer ago than this are refused'),
  ticketTag: z.string().regex(/^[a-z0-9_-]+$/, 'one lowercase Zendesk tag: letters, digits, _ and -').default('switchboard')
    .describe('tag on every ticket the gateway creates, with <tag>_<medium> (switchboard_messenger, switchboard_email, …): the agent-reply trigger and Zendesk\'s own notifications are scoped by them'),
  agentReplyAuth: z.object({ header: z.string().min(1), value: z.string().min(1) }).optional()
    .describe('a header the agent-reply webhook must carry (for a webhook with custom-header authentication); checked in addition to the signature'),
  csatImpersonationToken: z.string().min(1).optional()
    .describe("an OAuth token with the impersonate scope: the customer's rating is also written as Zendesk's own satisfaction rating (legacy CSAT), made as the requester"),
  csatGoodFrom: z.number().int().min(1).max(5).default(4)
    .describe("Zendesk's legacy rating is good or bad: ratings from this score up are good"),
}).superRefine((o, ctx) => {
  if (o.oauthToken) return;
  if (!o.email) ctx.addIssue({ code: 'custom', path: ['email'], message: 'set email + apiToken (API token auth), or oauthToken' });
  if (!o.apiToken) ctx.addIssue({ code: 'custom', path: ['apiToken'], message: 'set email + apiToken (API token auth), or oauthToken' });
});
export type ZendeskOptions = z.infer<typeof ZendeskOptions>;

export const ZENDESK_SECRETS = ['apiToken', 'oauthToken', 'webhookSecret', 'agentReplyAuth.value', 'csatImpersonationToken'];

/** The Authorization header value; throws when neither credential is set (options bypassed the schema). */
export function authorizationFor(o: Pick<ZendeskOptions, 'email' | 'apiToken' | 'oauthToken'>): string {
  if (o.oauthToken) return `Bearer ${o.oauthToken}`;
  if (o.email && o.apiToken) return `Basic ${Buffer.from(`${o.email}/token:${o.apiToken}`).toString('base64')}`;
  throw new Error('helpdesk: set email + apiToken (API token auth), or oauthToken');
}
