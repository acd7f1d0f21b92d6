import { createHmac } from 'node:crypto';
import { definition } from '../../../connectors/channels/webhook/index.ts';
import { CHANNEL_ID, channelContract } from '../channel-contract.ts';

const SECRET = 'contract-crm-signing-secret';

/** The generic webhook channel with a mapped CRM event, signed with HMAC-SHA256. */
channelContract({
  kind: 'webhook',
  async start() {
    const event = (n: number, over: Record<string, unknown> = {}) =>
      JSON.stringify({ id: `evt_${n}`, type: 'crm.message', data: { case: 'case-9', message: `вопрос ${n}`, customer: { id: 'cust-7', phone: '+998901234567' } }, ...over });
    const signed = (body: string, signature = createHmac('sha256', SECRET).update(body).digest('hex')) => ({
      path: `/webhooks/${CHANNEL_ID}`,
      headers: { 'content-type': 'application/json', ...(signature ? { 'x-crm-signature': signature } : {}) },
      body,
    });
    return {
      create: (ctx) => definition.create(definition.options.parse({
        auth: { mode: 'hmac', header: 'X-CRM-Signature', secret: SECRET },
        mapping: { dedupeKey: 'id', text: 'data.message', senderId: 'data.customer.id', phone: 'data.customer.phone', conversationId: 'data.case' },
      }), ctx),
      inbound: {
        via: 'http',
        event: (n) => signed(event(n)),
        forged: (n, how) => signed(event(n), how === 'wrong' ? createHmac('sha256', 'not-the-secret').update(event(n)).digest('hex') : ''),
        badShape: () => ({ request: signed(event(0, { data: { message: 'no customer' } })), field: 'mapping.senderId' }),
      },
      close: async () => {},
    };
  },
});
