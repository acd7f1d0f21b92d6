import { definition } from '../../../connectors/channels/webform/index.ts';
import { CHANNEL_ID, channelContract } from '../channel-contract.ts';

/** A site's contact form posting JSON, each submission with its own id (the idempotency key). */
channelContract({
  kind: 'webform',
  notApplicable: { secret: 'a public form has no secret: anyone may submit; the honeypot, rate limits and an optional captcha meet abuse (docs/webform.md)' },
  async start() {
    const form = (body: Record<string, unknown>) => ({
      path: `/forms/${CHANNEL_ID}`,
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
    });
    const submission = (n: number) => ({ email: 'player@example.com', message: `Вывод не пришёл, заявка ${n}`, topic: 'payments', submissionId: `contract-submission-${n}` });
    return {
      create: (ctx) => definition.create(definition.options.parse({
        fields: { email: { type: 'email', required: true }, message: { required: true }, topic: { enum: ['payments', 'other'] } },
        rateLimit: { perMinute: 10_000, burst: 10_000 },
      }), ctx),
      inbound: {
        via: 'http',
        event: (n) => form(submission(n)),
        badShape: () => ({ request: form({ ...submission(0), email: 'not-an-email' }), field: 'email' }),
      },
      close: async () => {},
    };
  },
});
