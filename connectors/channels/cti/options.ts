import { z } from 'zod';
import { AUTH_SECRETS, GenericAuth } from '../../../src/kit/inbound/auth.ts';

/** The generic CTI channel: the call events PBXes already send to Zammad's CTI API. */
export const CtiOptions = z.strictObject({
  auth: GenericAuth.describe(
    'how the PBX proves who it is: header (a shared secret header) or hmac (a signature over the body) preferred; '
    + 'basic; query (a token in the URL, as Zammad does) only when the PBX can do nothing else',
  ),
  callLog: z.enum(['note', 'off']).default('note')
    .describe('note: answered and outbound calls become private call logs on the customer\'s ticket; off: only missed calls'),
});
export type CtiOptions = z.infer<typeof CtiOptions>;

export const CTI_SECRETS = AUTH_SECRETS;
