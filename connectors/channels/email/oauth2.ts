import { z } from 'zod';

/**
 * OAuth 2.0 access tokens for IMAP and SMTP (XOAUTH2), from a token endpoint the admin names:
 * the client-credentials grant (a Microsoft 365 shared mailbox, app-only access) or the
 * refresh-token grant (Gmail, a delegated mailbox). One source per mailbox: IMAP and SMTP share
 * the token, it is fetched again shortly before it expires, and at once when a server refused it.
 */

const loopback = (host: string) => host === 'localhost' || host === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(host);

export const OAuth2Options = z.strictObject({
  tokenUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' })
    .refine((u) => new URL(u).protocol === 'https:' || loopback(new URL(u).hostname), 'must be https (http only on this machine: 127.0.0.1, localhost)')
    .describe('token endpoint, e.g. https://login.microsoftonline.com/<tenant id>/oauth2/v2.0/token (Microsoft 365) or https://oauth2.googleapis.com/token (Google)'),
  clientId: z.string().min(1).describe('the app (client) id registered with the mail provider'),
  clientSecret: z.string().min(1).describe('the app\'s client secret (secret: use ${ENV})'),
  refreshToken: z.string().min(1).optional()
    .describe('with it: the refresh-token grant (Gmail, a delegated mailbox); without: client credentials (a Microsoft 365 shared mailbox) (secret)'),
  scope: z.string().min(1).optional()
    .describe('space-separated scopes; Microsoft 365 client credentials: https://outlook.office365.com/.default'),
  timeoutMs: z.number().int().positive().default(15_000).describe('per-request timeout at the token endpoint'),
});
export type OAuth2Options = z.infer<typeof OAuth2Options>;

const TokenAnswer = z.looseObject({
  access_token: z.string().min(1),
  expires_in: z.union([z.number(), z.string().regex(/^\d+$/).transform(Number)]).optional(),
});

export interface AccessToken {
  accessToken: string;
  /** Epoch ms after which it is not used any more. */
  expiresAt: number;
}

/** Renew this long before the endpoint's expiry, or at half the lifetime for short-lived tokens. */
const MARGIN_MS = 5 * 60_000;

export class TokenSource {
  readonly #options: OAuth2Options;
  readonly #now: () => number;
  #current: AccessToken | undefined;
  #inFlight: Promise<AccessToken> | undefined;
  /** How many tokens were fetched: for the log and the tests. */
  fetched = 0;

  constructor(options: OAuth2Options, now: () => number = Date.now) {
    this.#options = options;
    this.#now = now;
  }

  /** A token that is good now; with `renew`, a new one even if the cached one looks good. */
  async get(renew = false): Promise<AccessToken> {
    if (!renew && this.#current && this.#current.expiresAt > this.#now()) return this.#current;
    // Callers asking at once share one request.
    this.#inFlight ??= this.#fetch().finally(() => (this.#inFlight = undefined));
    return this.#inFlight;
  }

  /** A server refused this token: the next `get` fetches a new one. */
  refused(token: string): void {
    if (this.#current?.accessToken === token) this.#current = undefined;
  }

  async #fetch(): Promise<AccessToken> {
    const o = this.#options;
    const form = new URLSearchParams({ client_id: o.clientId, client_secret: o.clientSecret });
    if (o.refreshToken) {
      form.set('grant_type', 'refresh_token');
      form.set('refresh_token', o.refreshToken);
    } else {
      form.set('grant_type', 'client_credentials');
    }
    if (o.scope) form.set('scope', o.scope);
    const started = this.#now();
    let res: Response;
    try {
      res = await fetch(o.tokenUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form,
        signal: AbortSignal.timeout(o.timeoutMs),
      });
    } catch (err) {
      throw new Error(`OAuth2 token endpoint ${o.tokenUrl}: ${err instanceof Error ? err.message : String(err)}`);
    }
    const body = await res.text();
    if (!res.ok) throw new Error(`OAuth2 token endpoint ${o.tokenUrl} answered ${res.status}: ${describeRefusal(body)}`);
    let parsed: ReturnType<typeof TokenAnswer.safeParse>;
    try {
      parsed = TokenAnswer.safeParse(JSON.parse(body));
    } catch {
      throw new Error(`OAuth2 token endpoint ${o.tokenUrl} answered ${res.status} without JSON`);
    }
    if (!parsed.success) throw new Error(`OAuth2 token endpoint ${o.tokenUrl} answered without an access_token`);
    const lifetimeMs = (parsed.data.expires_in ?? 3600) * 1000;
    const expiresAt = started + Math.max(lifetimeMs - MARGIN_MS, lifetimeMs / 2);
    this.fetched += 1;
    this.#current = { accessToken: parsed.data.access_token, expiresAt };
    return this.#current;
  }
}

/** The endpoint's own words (`error`, `error_description`), never more than a line of them. */
function describeRefusal(body: string): string {
  try {
    const e = z.looseObject({ error: z.string().optional(), error_description: z.string().optional() }).parse(JSON.parse(body));
    const said = [e.error, e.error_description?.split(/\r?\n/)[0]].filter(Boolean).join(': ');
    if (said) return said;
  } catch {
    // not JSON: a proxy's page
  }
  return body.slice(0, 200).replace(/\s+/g, ' ').trim() || '(empty answer)';
}
