import { definition } from '../../../connectors/channels/whatsapp-cloud/index.ts';
import { PHONE_NUMBER_ID, signedWebhook, startFakeGraph, waChange, waMessage, waPayload } from '../../fakes/graph-api-server.ts';
import { CHANNEL_ID, channelContract } from '../channel-contract.ts';

const ACCESS_TOKEN = 'EAAcontract-whatsapp-access-token-0123456789';
const APP_SECRET = 'c0ffee0123456789c0ffee0123456789';
const CUSTOMER = '998900000001';

/** WhatsApp Cloud API: signed POSTs from Meta (X-Hub-Signature-256); replies through the Graph API. */
channelContract({
  kind: 'whatsapp-cloud',
  async start() {
    const graph = await startFakeGraph({ accessToken: ACCESS_TOKEN, phoneNumberIds: [PHONE_NUMBER_ID] });
    const payload = (n: number) => waPayload([[waChange({ contacts: [{ waId: CUSTOMER, name: 'Dilnoza' }], messages: [waMessage.text(CUSTOMER, `вопрос ${n}`, `wamid.CONTRACT${n}`)] })]]);
    const signed = (body: object, secret = APP_SECRET) => {
      const s = signedWebhook(body, secret);
      return { path: `/webhooks/${CHANNEL_ID}`, headers: s.headers, body: s.body };
    };
    return {
      create: (ctx) => definition.create(definition.options.parse({
        phoneNumberId: PHONE_NUMBER_ID, accessToken: ACCESS_TOKEN, appSecret: APP_SECRET, verifyToken: 'contract-verify-token', graphUrl: graph.url,
      }), ctx),
      inbound: {
        via: 'http',
        event: (n) => signed(payload(n)),
        forged: (n, how) => {
          const req = signed(payload(n), 'f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0');
          if (how === 'missing') delete req.headers['x-hub-signature-256'];
          return req;
        },
        badShape: () => ({ request: signed({ object: 'whatsapp_business_account', entry: 'not a list' }), field: 'entry' }),
      },
      outbound: {
        conversation: () => ({ channelId: CHANNEL_ID, externalId: CUSTOMER, sender: { externalId: CUSTOMER }, meta: { lastInboundAt: new Date().toISOString() } }),
        received: () => graph.sent.filter((m) => m.to === CUSTOMER).map((m) => m.text ?? ''),
        failSend: (after) => graph.failNext(1, { status: 500, code: 1, message: 'An unknown error occurred' }, { after }),
      },
      reset: () => graph.reset(),
      close: () => graph.close(),
    };
  },
});
