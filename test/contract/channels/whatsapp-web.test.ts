import { createWhatsAppWebChannel } from '../../../connectors/channels/whatsapp-web/channel.ts';
import { WhatsAppWebOptions } from '../../../connectors/channels/whatsapp-web/options.ts';
import type { WebMessage } from '../../../connectors/channels/whatsapp-web/library.ts';
import type { FakeChannelContext } from '../../fixtures/channel-context.ts';
import { FakeWhatsApp } from '../../fakes/whatsapp-web-client.ts';
import { CHANNEL_ID, channelContract } from '../channel-contract.ts';

const CHAT = '998901234567@c.us';

/**
 * A WhatsApp account linked through whatsapp-web.js, with the fake client in place of Chromium:
 * a customer's message arrives as the library's `message` event, a redelivery is the same message
 * emitted again, and a message is taken once accept() answered for it.
 */
channelContract({
  kind: 'whatsapp-web',
  notApplicable: {
    secret: 'the channel is a logged-in WhatsApp client; nobody sends it a request to authenticate',
    badShape: 'messages come from the library as objects, not as a body someone could shape',
  },
  async start() {
    const world = new FakeWhatsApp();
    const messages = new Map<number, WebMessage>();
    let fake: FakeChannelContext | undefined;
    return {
      create: (ctx, f) => {
        fake = f;
        return createWhatsAppWebChannel(WhatsAppWebOptions.parse({ sessionPath: '/nonexistent/session' }), ctx, { loadLibrary: async () => world.library, retryCatchUpMs: 50 });
      },
      inbound: {
        via: 'fetch',
        deliver: (n) => {
          const earlier = messages.get(n);
          if (earlier) world.redeliver(earlier);
          else messages.set(n, world.incoming(CHAT, `вопрос ${n}`, { name: 'Dilnoza' }));
        },
        acknowledged: () => fake?.outcomes.length ?? 0,
      },
      outbound: {
        conversation: () => ({ channelId: CHANNEL_ID, externalId: CHAT, sender: { externalId: CHAT } }),
        received: () => world.sent.filter((m) => m.chatId === CHAT).map((m) => m.text ?? ''),
        failSend: (after) => world.failSends(1, { after }),
      },
      reset: () => {
        world.reset();
        messages.clear();
      },
      close: async () => {},
    };
  },
});
