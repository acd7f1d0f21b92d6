import twilio from 'twilio';
import type { RequestHead } from '../../../src/core/connector.ts';
import { emptyFields } from '../../../src/core/safe-parse.ts';

export const SIGNATURE_HEADER = 'x-twilio-signature';

/**
 * Twilio signs the URL it was configured with (scheme, host, path, query) plus the POST
 * parameters. Behind a proxy the request's own host is not that URL, so it is rebuilt from the
 * configured public URL; the twilio package's own validator does the rest (with and without
 * the default port, in constant time).
 */
export function signedUrl(base: string, channelId: string, path: string, requestUrl: string): string {
  const q = requestUrl.indexOf('?');
  return `${base}/webhooks/${channelId}${path}${q === -1 ? '' : requestUrl.slice(q)}`;
}

/** The POST parameters as sent (the signature covers exactly these). */
export function formParams(raw: Buffer): Record<string, string> {
  const out = emptyFields() as Record<string, string>;
  for (const [k, v] of new URLSearchParams(raw.toString('utf8'))) out[k] = v;
  return out;
}

export function validSignature(authToken: string, req: RequestHead, rawBody: Buffer, url: string): boolean {
  const header = req.headers[SIGNATURE_HEADER];
  if (!header) return false;
  // JSON callbacks carry the body's hash in the URL (bodySHA256) instead of parameters.
  if (new URL(url).searchParams.has('bodySHA256')) {
    return twilio.validateRequestWithBody(authToken, header, url, rawBody.toString('utf8'));
  }
  return twilio.validateRequest(authToken, header, url, formParams(rawBody));
}
