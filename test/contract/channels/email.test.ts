import { createEmailChannel } from '../../../connectors/channels/email/channel.ts';
import { EmailOptions } from '../../../connectors/channels/email/options.ts';
import { Dovecot, dovecotSkip, mail } from '../../fakes/dovecot.ts';
import { startSmtpSink } from '../../fakes/smtp-sink.ts';
import { CHANNEL_ID, channelContract } from '../channel-contract.ts';

const CUSTOMER = 'player@customer.test';

/**
 * A mailbox on a real IMAP server (Dovecot) and replies over SMTP: mail is put in the folder as a
 * delivery agent would, the same mail again is a redelivery, and "acknowledged" is the \Seen flag
 * the channel sets once a mail is stored. Each test watches a folder of its own.
 */
channelContract({
  kind: 'email',
  skip: dovecotSkip(),
  notApplicable: {
    secret: 'the gateway logs in to the mailbox; nobody sends it a request to authenticate',
    badShape: 'any mail is a message: a malformed one is read as well as it can be, never refused',
  },
  async start() {
    const dv = await Dovecot.start();
    const smtp = await startSmtpSink();
    let folder = '';
    let folders = 0;
    return {
      create: (ctx) => createEmailChannel(EmailOptions.parse({
        address: 'support@acme.test',
        imap: { ...dv.imap, mailbox: folder },
        smtp: { host: smtp.host, port: smtp.port },
      }), ctx, { backoff: { initialMs: 50, maxMs: 300 }, autoIdleDelayMs: 100, resyncMs: 60_000, batchSize: 5 }),
      inbound: {
        via: 'fetch',
        deliver: async (n) => {
          await dv.append(mail({ from: `Dilnoza <${CUSTOMER}>`, subject: `Вывод ${n}`, body: `Вывод не пришёл, обращение ${n}`, messageId: `<contract-${n}@customer.test>`, date: new Date(Date.UTC(2026, 0, 1, 9, 0, n % 60)) }), { mailbox: folder });
        },
        acknowledged: async () => (await dv.messages(folder)).filter((m) => m.seen).length,
      },
      outbound: {
        conversation: () => ({ channelId: CHANNEL_ID, externalId: '<thread-1@customer.test>', subject: 'Вывод', sender: { externalId: CUSTOMER, email: CUSTOMER } }),
        received: () => smtp.received.filter((m) => m.to.includes(CUSTOMER)).map((m) => m.parsed.text ?? ''),
        failSend: (after) => smtp.refuseNext(1, 451, '4.3.0 Mail server temporarily unavailable', { after }),
      },
      async reset() {
        smtp.reset();
        folder = `C${++folders}`;
        await dv.createMailbox(folder);
      },
      async close() {
        await smtp.close();
        await dv.close();
      },
    };
  },
});
