import { createHmac } from 'node:crypto';
import { z } from 'zod';
import type { HttpResponse, RequestHead, RouteGuard } from '../../core/connector.ts';
import { emptyFields } from '../../core/safe-parse.ts';
import { secretMatches } from './secret-matches.ts';

/**
 * How an inbound webhook proves who sent it, as a route guard the HTTP layer runs before the body
 * is read (header, basic, query) or parsed (an HMAC over the raw bytes). Every mode compares in
 * constant time; none of them ever puts the secret into an error text. Shared by the generic
 * webhook and CTI channels; vendor recipes (Mango Office, Zadarma) live with the channel that
 * offers them.
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

export const GenericAuth = z.discriminatedUnion('mode', [HmacAuth, HeaderAuth, BasicAuth, QueryAuth]);
export type GenericAuth = z.infer<typeof GenericAuth>;

/** Option paths (below the channel) that hold secrets, for the config's redaction. */
export const AUTH_SECRETS = ['auth.secret', 'auth.password'];

export const refused = (error: string): HttpResponse => ({ status: 401, body: { error } });

function stripPrefix(value: string | undefined, prefix: string | undefined): string | undefined {
  if (value === undefined || !prefix) return value;
  return value.toLowerCase().startsWith(prefix.toLowerCase()) ? value.slice(prefix.length) : undefined;
}

/** The guard for an auth mode. The HMAC mode first checks, unread, that its header is there at all. */
export function authGuard(auth: GenericAuth): RouteGuard {
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
  }
}

/** The form fields exactly as sent (signatures are computed over these strings); a repeated field counts once, as first sent. */
export function formFields(raw: Buffer): Record<string, string> {
  const out = emptyFields() as Record<string, string>;
  for (const [k, v] of new URLSearchParams(raw.toString('utf8'))) out[k] ??= v;
  return out;
}
