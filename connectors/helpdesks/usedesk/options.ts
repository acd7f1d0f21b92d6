import { z } from 'zod';
import { HelpdeskCommonOptions } from '../../../src/core/connector.ts';
import { RecheckTicketAfterSec } from '../../../src/kit/ticket-watch.ts';

const Id = z.union([z.number().int().positive(), z.string().regex(/^\d+$/).transform(Number)]);

export const UsedeskOptions = HelpdeskCommonOptions.extend({
  baseUrl: z.url({ protocol: /^https?$/ }).default('https://api.usedesk.ru')
    .describe('https://api.usedesk.ru; international accounts: https://secure.usedesk.com/uapi; on-premise: your server\'s API address'),
  apiToken: z.string().min(1).describe('the API channel\'s token (Channels → API → secret key)'),
  channelId: Id.describe('the API channel tickets are created in (channel_id)'),
  webhookSecret: z.string().min(1).optional()
    .describe('the `secret` Usedesk puts in webhook bodies; default: apiToken, which is what an API channel sends'),
  agentUserId: Id.optional().describe('the Usedesk user private notes are written as (default: the company\'s first user)'),
  recheckTicketAfterSec: RecheckTicketAfterSec,
  chat: z.object({
    channelId: Id.describe('a chat-type channel (Channels → Chat)'),
    companyId: Id.describe('your Usedesk company id'),
  }).optional()
    .describe('post customer messages into a chat channel (/chat/addMessage) for a live-chat feel, instead of ticket comments'),
});
export type UsedeskOptions = z.infer<typeof UsedeskOptions>;

export const USEDESK_SECRETS = ['apiToken', 'webhookSecret'];
