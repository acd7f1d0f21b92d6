import { createHash, createHmac } from 'node:crypto';
import { z } from 'zod';
import type { HttpResponse, RouteGuard } from '../../../src/core/connector.ts';
import { AUTH_SECRETS, authGuard, BasicAuth, formFields, HeaderAuth, HmacAuth, QueryAuth, refused } from '../../../src/kit/inbound/auth.ts';
import { secretMatches } from '../../../src/kit/inbound/secret-matches.ts';

/** The kit's generic modes plus the signatures of the PBX presets (Mango Office, Zadarma). */

/** Mango Office VPBX: form fields vpbx_api_key, sign = sha256_hex(api key + json + salt), json. */
export const MangoAuth = z.strictObject({
  mode: z.literal('mango').describe("Mango Office's sign: sha256 of API key + json + salt"),
  apiKey: z.string().min(1).describe('the VPBX API key (vpbx_api_key) (secret)'),
  apiSalt: z.string().min(1).describe('the VPBX API salt (secret)'),
});

/** Zadarma: header Signature = base64(hex(HMAC-SHA1(secret, fields of the event, concatenated))). */
export const ZadarmaAuth = z.strictObject({
  mode: z.literal('zadarma').describe("Zadarma's Signature header over the event's fields"),
  secret: z.string().min(1).describe('the API secret from the Zadarma cabinet (secret)'),
});

export const WebhookAuth = z.discriminatedUnion('mode', [HmacAuth, HeaderAuth, BasicAuth, QueryAuth, MangoAuth, ZadarmaAuth]);
export type WebhookAuth = z.infer<typeof WebhookAuth>;

export const WEBHOOK_AUTH_SECRETS = [...AUTH_SECRETS, 'auth.apiKey', 'auth.apiSalt'];

/** The route guard for any of the channel's modes; the presets' signatures sit in the body's fields. */
export function webhookGuard(auth: WebhookAuth): RouteGuard {
  switch (auth.mode) {
    case 'mango':
      return { body: (_req, raw) => verifyMango(auth, formFields(raw)) };
    case 'zadarma':
      return {
        head: (req) => (req.headers['signature'] ? undefined : refused('missing Signature header')),
        body: (req, raw) => verifyZadarma(auth, formFields(raw), req.headers['signature']),
      };
    default:
      return authGuard(auth);
  }
}

export function mangoSign(apiKey: string, json: string, apiSalt: string): string {
  return createHash('sha256').update(apiKey + json + apiSalt).digest('hex');
}

function verifyMango(auth: z.infer<typeof MangoAuth>, f: Record<string, string>): HttpResponse | undefined {
  if (f['json'] === undefined || f['sign'] === undefined || f['vpbx_api_key'] === undefined) {
    return refused('expected the form fields vpbx_api_key, sign and json');
  }
  // Both compared in full, so a wrong key and a wrong sign take the same time.
  const keyOk = secretMatches(f['vpbx_api_key'], auth.apiKey);
  const signOk = secretMatches(f['sign'].toLowerCase(), mangoSign(auth.apiKey, f['json'], auth.apiSalt));
  return keyOk && signOk ? undefined : refused('vpbx_api_key or sign does not match');
}

/** Which fields Zadarma concatenates for each event's signature. */
const ZADARMA_SIGNED_FIELDS: Record<string, string[]> = {
  NOTIFY_START: ['caller_id', 'called_did', 'call_start'],
  NOTIFY_INTERNAL: ['caller_id', 'called_did', 'call_start'],
  NOTIFY_END: ['caller_id', 'called_did', 'call_start'],
  NOTIFY_ANSWER: ['caller_id', 'destination', 'call_start'],
  NOTIFY_OUT_START: ['internal', 'destination', 'call_start'],
  NOTIFY_OUT_END: ['internal', 'destination', 'call_start'],
  NOTIFY_RECORD: ['pbx_call_id', 'call_id_with_rec'],
};

/** base64 of the HEX digest (PHP's hash_hmac returns hex), not of the raw bytes. */
export function zadarmaSignature(secret: string, fields: Record<string, string>): string | undefined {
  const event = fields['event'] ?? '';
  if (!Object.hasOwn(ZADARMA_SIGNED_FIELDS, event)) return undefined;
  const names = ZADARMA_SIGNED_FIELDS[event]!;
  const data = names.map((n) => fields[n] ?? '').join('');
  return Buffer.from(createHmac('sha1', secret).update(data).digest('hex')).toString('base64');
}

function verifyZadarma(auth: z.infer<typeof ZadarmaAuth>, f: Record<string, string>, header: string | undefined): HttpResponse | undefined {
  const expected = zadarmaSignature(auth.secret, f);
  if (expected === undefined) return refused(`cannot verify Zadarma event '${f['event'] ?? ''}': no signature recipe for it`);
  return secretMatches(header?.trim(), expected) ? undefined : refused('missing or wrong Signature header');
}
