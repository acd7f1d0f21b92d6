import { defineChannel } from '../../../src/core/connector.ts';
import { DeliveryError } from '../../../src/core/errors.ts';
import { captchaVerifier, checkCaptchaSecret } from './captcha.ts';
import { preflightHandler, submitGuard, submitHandler } from './handler.ts';
import { KeyedLock } from '../../../src/kit/keyed-lock.ts';
import { WebformOptions } from './options.ts';
import { TokenBucket } from './rate-limit.ts';
import { undeliverableReply } from './replies.ts';
import { SubmissionLedger } from './submission.ts';

/** The web-form channel: `POST /forms/{channelId}` takes a submission from a site's contact form. */

export { WebformOptions } from './options.ts';

/** Room for the text fields next to the largest allowed set of files. */
const FIELDS_ALLOWANCE_BYTES = 1024 * 1024;

export const definition = defineChannel({
  kind: 'webform',
  medium: 'form',
  // A form has no way back to the customer: replies become notes telling the agent how to reach them.
  sends: [],
  options: WebformOptions,
  secrets: ['captcha.secret'],
  create(options, ctx) {
    const captcha = options.captcha ? captchaVerifier(options.captcha) : undefined;
    const limiter = new TokenBucket(options.rateLimit.perMinute, options.rateLimit.burst);
    const handler = submitHandler({ options, ctx, captcha, ledger: new SubmissionLedger(ctx.kv, ctx.channelId), locks: new KeyedLock() });
    return {
      routes: [
        {
          method: 'POST',
          prefix: 'forms',
          path: '',
          handler,
          guard: submitGuard(options, limiter),
          bodyLimit: options.files.maxFiles * options.files.maxFileBytes + FIELDS_ALLOWANCE_BYTES,
        },
        { method: 'OPTIONS', prefix: 'forms', path: '', handler: preflightHandler(options) },
      ],
      async send(to) {
        return undeliverableReply(ctx.channelId, to);
      },
      async fetchAttachment(ref) {
        const data = await ctx.blobs.get(ref.source);
        if (!data) {
          throw new DeliveryError(`uploaded file "${ref.name}" is no longer stored (blob ${ref.source} is missing)`, { kind: 'permanent' });
        }
        return { name: ref.name, mime: ref.mime, data };
      },
      async releaseAttachment(ref) {
        await ctx.blobs.delete(ref.source);
      },
      async check() {
        return captcha ? checkCaptchaSecret(captcha) : 'web form: no credentials to check';
      },
    };
  },
});
