import { z } from 'zod';
import { HelpdeskCommonOptions } from '../../../src/core/connector.ts';
import { RecheckTicketAfterSec } from '../../../src/kit/ticket-watch.ts';

/** Freshdesk's ticket sources, by the names admins see. */
export const FRESHDESK_SOURCES = { email: 1, portal: 2, phone: 3, chat: 7, feedback_widget: 9, outbound_email: 10 } as const;
export type FreshdeskSourceName = keyof typeof FRESHDESK_SOURCES;
const SourceName = z.enum(Object.keys(FRESHDESK_SOURCES) as [FreshdeskSourceName, ...FreshdeskSourceName[]]);

/** Freshdesk keeps at most 20 MB of attachments per ticket. */
export const FRESHDESK_MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024;

export const FreshdeskOptions = HelpdeskCommonOptions.extend({
  baseUrl: z.url({ protocol: /^https?$/ })
    .describe('your Freshdesk address, e.g. https://acme.freshdesk.com (the API lives under /api/v2)'),
  apiKey: z.string().min(1)
    .describe("the API key of the agent Switchboard acts as (Profile settings → View API key)"),
  webhookSecret: z.string().min(16).optional()
    .describe('shared secret the automation rule sends with agent-reply webhooks (header or basic-auth password); unset: agent replies are off'),
  webhookSecretHeader: z.string().min(1).default('X-Switchboard-Secret')
    .describe('the header the automation rule puts webhookSecret in'),
  webhookUser: z.string().min(1).default('switchboard')
    .describe('user name, when the automation rule authenticates with basic auth (password: webhookSecret)'),
  sources: z.record(z.string(), SourceName).default({})
    .describe('channel id or channel kind → ticket source (email, portal, phone, chat, …); default by the channel’s medium: chat for messengers and APIs, portal for forms, phone for phone, email for email'),
  csatRatings: z.boolean().default(true)
    .describe("write the customer's rating as Freshdesk's own satisfaction rating (POST /tickets/{id}/satisfaction_ratings; needs a survey on the account)"),
  csatScale: z.tuple([z.number().int(), z.number().int(), z.number().int(), z.number().int(), z.number().int()]).default([-103, -102, 100, 102, 103])
    .describe("Freshdesk's rating values for scores 1–5: a 5-point survey by default; a classic 3-point survey: [-103, -103, 100, 103, 103]"),
  maxAttachmentBytes: z.number().int().positive().max(FRESHDESK_MAX_ATTACHMENT_BYTES).default(FRESHDESK_MAX_ATTACHMENT_BYTES)
    .describe('attachments sent with one message, in bytes (Freshdesk keeps at most 20 MB per ticket); the rest are named in a private note'),
  recheckTicketAfterSec: RecheckTicketAfterSec,
});
export type FreshdeskOptions = z.infer<typeof FreshdeskOptions>;

export const FRESHDESK_SECRETS = ['apiKey', 'webhookSecret'];

/** Freshdesk's Basic auth: the API key is the user name, the password is ignored. */
export function authorizationFor(apiKey: string): string {
  return `Basic ${Buffer.from(`${apiKey}:X`).toString('base64')}`;
}
