import { createHmac } from 'node:crypto';
import { definition } from '../../../connectors/channels/cti/index.ts';
import { CHANNEL_ID, channelContract } from '../channel-contract.ts';

const SECRET = 'contract-pbx-hmac-secret-0123';

/** A PBX speaking Zammad's CTI API, signing each call event with HMAC-SHA256 (the preferred mode). */
channelContract({
  kind: 'cti',
  async start() {
    const signed = (body: string, signature = createHmac('sha256', SECRET).update(body).digest('hex')) => ({
      path: `/webhooks/${CHANNEL_ID}`,
      headers: { 'content-type': 'application/json', ...(signature ? { 'x-signature': signature } : {}) },
      body,
    });
    const missed = (n: number, over: Record<string, unknown> = {}) =>
      JSON.stringify({ event: 'hangup', callId: `contract-${n}`, from: '+998 90 123-45-67', to: '998712000000', direction: 'in', cause: 'noAnswer', ...over });
    return {
      create: (ctx) => definition.create(definition.options.parse({ auth: { mode: 'hmac', header: 'X-Signature', secret: SECRET } }), ctx),
      inbound: {
        via: 'http',
        event: (n) => signed(missed(n)),
        forged: (n, how) => signed(missed(n), how === 'wrong' ? createHmac('sha256', 'another-secret').update(missed(n)).digest('hex') : ''),
        badShape: () => ({ request: signed(missed(0, { direction: 'sideways' })), field: 'direction' }),
      },
      close: async () => {},
    };
  },
});
