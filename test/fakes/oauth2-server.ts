import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local OAuth 2.0 authorization server standing in for Microsoft Entra ID (or Google): a token
 * endpoint speaking the client-credentials and refresh-token grants, and an RFC 7662 introspection
 * endpoint that Dovecot's oauth2 passdb and the SMTP sink ask whether a token is good.
 */

export interface Grant {
  grantType: string;
  clientId: string;
  scope?: string;
}

export interface FakeOAuth2 {
  /** http://127.0.0.1:<port>/token */
  tokenUrl: string;
  /** http://127.0.0.1:<port>/introspect */
  introspectionUrl: string;
  clientId: string;
  clientSecret: string;
  refreshToken: string;
  /** Who the tokens are for (the introspection answer's `username`). */
  username: string;
  grants: Grant[];
  /** Every token issued, oldest first. */
  issued: string[];
  /** Tokens a server asked about, with the answer. */
  introspected: { token: string; active: boolean }[];
  /** From now on this token is no longer good (revoked, expired early). */
  revoke(token: string): void;
  isActive(token: string): boolean;
  /** `expires_in` of the next tokens. */
  expiresIn: number;
  close(): Promise<void>;
}

async function form(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

export async function startFakeOAuth2(opts: { username: string }): Promise<FakeOAuth2> {
  const active = new Set<string>();
  const state: Omit<FakeOAuth2, 'tokenUrl' | 'introspectionUrl' | 'close'> = {
    clientId: 'c0ffee00-1111-2222-3333-switchboard',
    clientSecret: `secret-${randomBytes(8).toString('hex')}`,
    refreshToken: `refresh-${randomBytes(8).toString('hex')}`,
    username: opts.username,
    grants: [],
    issued: [],
    introspected: [],
    expiresIn: 3599,
    revoke: (token) => void active.delete(token),
    isActive: (token) => active.has(token),
  };
  const json = (res: import('node:http').ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server: Server = createServer((req, res) => {
    void (async () => {
      const body = await form(req);
      if (req.method === 'POST' && req.url === '/token') {
        const grantType = body.get('grant_type') ?? '';
        if (body.get('client_id') !== state.clientId || body.get('client_secret') !== state.clientSecret) {
          return json(res, 401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x' });
        }
        if (grantType === 'refresh_token' && body.get('refresh_token') !== state.refreshToken) {
          return json(res, 400, { error: 'invalid_grant', error_description: 'the refresh token is not valid' });
        }
        if (grantType !== 'client_credentials' && grantType !== 'refresh_token') return json(res, 400, { error: 'unsupported_grant_type' });
        state.grants.push({ grantType, clientId: state.clientId, scope: body.get('scope') ?? undefined });
        const token = `at-${randomBytes(12).toString('hex')}`;
        active.add(token);
        state.issued.push(token);
        return json(res, 200, { token_type: 'Bearer', expires_in: state.expiresIn, ext_expires_in: state.expiresIn, access_token: token });
      }
      if (req.method === 'POST' && req.url === '/introspect') {
        const token = body.get('token') ?? '';
        const ok = active.has(token);
        state.introspected.push({ token, active: ok });
        return json(res, 200, ok ? { active: true, username: state.username, scope: 'https://outlook.office365.com/.default' } : { active: false });
      }
      json(res, 404, { error: 'not_found' });
    })().catch((err: Error) => json(res, 500, { error: err.message }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(state, {
    tokenUrl: `http://127.0.0.1:${port}/token`,
    introspectionUrl: `http://127.0.0.1:${port}/introspect`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}
