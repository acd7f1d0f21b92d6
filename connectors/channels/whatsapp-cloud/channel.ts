import { z } from 'zod';
import type { ChannelContext, ChannelInstance } from '../../../src/core/connector.ts';
import { GraphApi } from './graph.ts';
import { downloadMedia } from './media.ts';
import type { WhatsAppCloudOptions } from './options.ts';
import { sendReply } from './send.ts';
import { reportPutOffStatus } from './statuses.ts';
import { webhookRoutes } from './webhook.ts';

const PhoneNumberInfo = z.looseObject({ display_phone_number: z.string().optional(), verified_name: z.string().optional() });

export interface CloudTuning {
  now?: () => Date;
}

/** WhatsApp Business through Meta's Cloud API: signed webhooks in, Graph API messages out. */
export function createWhatsAppCloudChannel(options: WhatsAppCloudOptions, ctx: ChannelContext, tuning: CloudTuning = {}): ChannelInstance {
  const api = new GraphApi(options);
  const log = ctx.log.child({ kind: 'whatsapp-cloud' });
  const statusDeps = { kv: ctx.kv, template: options.template, ctx };
  return {
    routes: webhookRoutes({
      phoneNumberId: options.phoneNumberId,
      appSecret: options.appSecret,
      verifyToken: options.verifyToken,
      normalize: { reactions: options.reactions },
      template: options.template,
      ctx,
      kv: ctx.kv,
      log,
    }),
    async start() {
      if (!ctx.publicUrl) log.warn({}, 'server.publicUrl is not set: Meta needs a public HTTPS callback URL for this channel\'s webhook');
    },
    send(to, reply) {
      return sendReply({ api, kv: ctx.kv, phoneNumberId: options.phoneNumberId, template: options.template, questionTemplate: options.questionTemplate, now: tuning.now }, to, reply);
    },
    fetchAttachment(ref) {
      return downloadMedia(api, ref, options.maxFileBytes);
    },
    afterSends(_conversation, work) {
      return reportPutOffStatus(statusDeps, work);
    },
    async check() {
      const info = PhoneNumberInfo.parse(await api.getJson('phone number lookup', `${options.phoneNumberId}?fields=display_phone_number,verified_name`));
      return `WhatsApp number ${info.display_phone_number ?? options.phoneNumberId}${info.verified_name ? ` (${info.verified_name})` : ''}`;
    },
  };
}
