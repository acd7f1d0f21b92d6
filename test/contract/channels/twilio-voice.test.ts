import { definition } from '../../../connectors/channels/twilio-voice/index.ts';
import { startFakeTwilio, twilioWebhook } from '../../fakes/twilio-server.ts';
import { CHANNEL_ID, PUBLIC_URL, channelContract } from '../channel-contract.ts';

const ACCOUNT = `AC${'c0'.repeat(16)}`;
const AUTH_TOKEN = 'contract-twilio-auth-token-0123';

/** Twilio Voice: a call's final status callback (no answer) is a missed call; every request signed for its public URL. */
channelContract({
  kind: 'twilio-voice',
  async start() {
    const twilio = await startFakeTwilio({ accountSid: ACCOUNT, authToken: AUTH_TOKEN });
    const path = `/webhooks/${CHANNEL_ID}/status`;
    const params = (n: number): Record<string, string> => ({
      AccountSid: ACCOUNT, CallSid: `CA${String(n).padStart(32, '0')}`, From: '+998901234567', To: '+998712000000',
      Direction: 'inbound', ApiVersion: '2010-04-01', CallStatus: 'no-answer', SequenceNumber: '2', CallDuration: '0',
    });
    const signed = (p: Record<string, string>, token = AUTH_TOKEN) => {
      const { body, headers } = twilioWebhook(token, `${PUBLIC_URL}${path}`, p);
      return { path, headers, body };
    };
    return {
      create: (ctx) => definition.create(definition.options.parse({ accountSid: ACCOUNT, authToken: AUTH_TOKEN, apiBaseUrl: twilio.url }), ctx),
      inbound: {
        via: 'http',
        event: (n) => signed(params(n)),
        forged: (n, how) => {
          const req = signed(params(n), 'someone-elses-auth-token-000000');
          if (how === 'missing') delete req.headers['x-twilio-signature'];
          return req;
        },
        badShape: () => {
          const { CallSid: _sid, ...withoutSid } = params(0);
          return { request: signed(withoutSid), field: 'CallSid' };
        },
      },
      reset: () => twilio.reset(),
      close: () => twilio.close(),
    };
  },
});
