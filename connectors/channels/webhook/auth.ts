import { createHash, createHmac } from 'node:crypto';
import { z } from 'zod';
import type { HttpResponse, RequestHead, RouteGuard } from '../../../src/core/connector.ts';
import { emptyFields } from '../../../src/core/safe-parse.ts';
import { secretMatches } from '../../../src/core/secrets.ts';

/**
 * How an inbound webhook proves who sent it, as a route guard the HTTP layer runs before the body
 * is read (header, basic, query) or parsed (signatures over the raw bytes). Every mode compares in
 * constant time; none of them ever puts the secret into an error text. Shared by the generic
 * webhook and CTI channels.
 */

const headerName = z.string().regex(/^[A-Za-z0-9-]{1,100}$/, 'an HTTP header name, e.g. X-Signature')
  .transform((h) => h.toLowerCase());
const secret = z.string().min(8, 'use at least 8 characters');

export const HmacAuth = z.strictObject({
  mode: z.literal('hmac').describe('HMAC over the raw request body, sent in a header'),
  header: headerName.describe('the header carrying the signature, e.g. X-Signature'),
  algorithm: z.enum(['sha256', 'sha1']).default('sha256'),
  encoding: z.enum(['hex', 'base64']).default('hex').describe('how the sender writes the digest'),
  prefix: z.string().max(20).optional().describe('text before the digest in the header, e.g. "sha256="'),
  secret: secret.describe('the shared signing secret (secret)'),
});

export const HeaderAuth = z.strictObject({
  mode: z.literal('header').describe('a shared secret sent as-is in a header'),
  header: headerName.describe('the header carrying the secret, e.g. X-Webhook-Token or Authorization'),
  prefix: z.string().max(20).optional().describe('text before the secret in the header, e.g. "Bearer "'),
  secret: secret.describe('the shared secret (secret)'),
});

export const BasicAuth = z.strictObject({
  mode: z.literal('basic').describe('HTTP Basic authentication'),
  username: z.string().min(1),
  password: secret.describe('(secret)'),
});

export const QueryAuth = z.strictObject({
  mode: z.literal('query')
    .describe('a token in the URL query; only for senders that can do nothing else (the token is cut from logs)'),
  param: z.string().regex(/^[A-Za-z0-9_-]{1,50}$/).default('token').describe('the query parameter, e.g. token'),
  secret: secret.describe('the token (secret)'),
});

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

export const GenericAuth = z.discriminatedUnion('mode', [HmacAuth, HeaderAuth, BasicAuth, QueryAuth]);
export type GenericAuth = z.infer<typeof GenericAuth>;
export const WebhookAuth = z.discriminatedUnion('mode', [HmacAuth, HeaderAuth, BasicAuth, QueryAuth, MangoAuth, ZadarmaAuth]);
export type WebhookAuth = z.infer<typeof WebhookAuth>;

/** Option paths (below the channel) that hold secrets, for the config's redaction. */
export const AUTH_SECRETS = ['auth.secret', 'auth.password', 'auth.apiKey', 'auth.apiSalt'];

const refused = (error: string): HttpResponse => ({ status: 401, body: { error } });

function stripPrefix(value: string | undefined, prefix: string | undefined): string | undefined {
  if (value === undefined || !prefix) return value;
  return value.toLowerCase().startsWith(prefix.toLowerCase()) ? value.slice(prefix.length) : undefined;
}

/** The guard for an auth mode. A signature mode first checks, unread, that its header is there at all. */
export function authGuard(auth: WebhookAuth): RouteGuard {
  switch (auth.mode) {
    case 'hmac': {
      const given = (req: RequestHead) => stripPrefix(req.headers[auth.header]?.trim(), auth.prefix);
      const normalize = (s: string) => (auth.encoding === 'hex' ? s.toLowerCase() : s);
      return {
        head: (req) => (given(req) ? undefined : refused(`missing ${auth.header} header`)),
        body: (req, raw) => {
          const digest = createHmac(auth.algorithm, auth.secret).update(raw).digest(auth.encoding);
          return secretMatches(normalize(given(req) ?? ''), normalize(digest)) ? undefined : refused(`${auth.header} does not match the body`);
        },
      };
    }
    case 'header':
      return {
        head: (req) => (secretMatches(stripPrefix(req.headers[auth.header]?.trim(), auth.prefix), auth.secret) ? undefined : refused(`missing or wrong ${auth.header} header`)),
      };
    case 'basic':
      return {
        head: (req) => {
          const m = /^basic\s+(\S+)$/i.exec(req.headers['authorization'] ?? '');
          const decoded = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : undefined;
          return secretMatches(decoded, `${auth.username}:${auth.password}`) ? undefined : refused('missing or wrong basic credentials');
        },
      };
    case 'query':
      return { head: (req) => (secretMatches(req.query[auth.param], auth.secret) ? undefined : refused(`missing or wrong ${auth.param} in the URL`)) };
    case 'mango':
      return { body: (_req, raw) => verifyMango(auth, formFields(raw)) };
    case 'zadarma':
      return {
        head: (req) => (req.headers['signature'] ? undefined : refused('missing Signature header')),
        body: (req, raw) => verifyZadarma(auth, formFields(raw), req.headers['signature']),
      };
  }
}

/** The form fields exactly as sent (signatures are computed over these strings); a repeated field counts once, as first sent. */
export function formFields(raw: Buffer): Record<string, string> {
  const out = emptyFields() as Record<string, string>;
  for (const [k, v] of new URLSearchParams(raw.toString('utf8'))) out[k] ??= v;
  return out;
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
