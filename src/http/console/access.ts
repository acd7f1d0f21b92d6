import { createHmac, randomBytes } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { secretMatches } from '../../kit/inbound/secret-matches.ts';

/**
 * Who may do what under /admin. Two roles: `admin` (server.adminToken) may change things,
 * `viewer` (server.viewerToken) may look. Scripts send the token as a bearer; browsers trade it
 * for a signed session cookie (HttpOnly, SameSite=Strict, Secure over HTTPS, 8 hours) and then
 * need a CSRF token on every request that is not a GET.
 */

export type Role = 'admin' | 'viewer';

export interface Tokens {
  admin: string;
  viewer?: string;
}

export interface Caller {
  role: Role;
  /** A bearer needs no CSRF token: a browser never sends one by itself. */
  via: 'bearer' | 'cookie';
  /** The session's id (cookie only): CSRF tokens are bound to it. */
  sessionId?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    caller?: Caller;
  }
  interface FastifyContextConfig {
    /** A console page or form (answers in HTML); absent: the JSON API. */
    console?: boolean;
    /** Reachable without logging in (the login page, the style sheet). */
    public?: boolean;
    /** A POST that only reads (the rule tester): viewers may send it too. */
    readOnly?: boolean;
  }
}

export const SESSION_COOKIE = 'sb_session';
export const CSRF_COOKIE = 'sb_csrf';
export const SESSION_MS = 8 * 3_600_000;
export const COOKIE_PATH = '/admin';

/** Which role a presented token carries, compared in constant time. */
export function roleOf(presented: string | undefined, tokens: Tokens): Role | undefined {
  if (secretMatches(presented, tokens.admin)) return 'admin';
  if (tokens.viewer !== undefined && secretMatches(presented, tokens.viewer)) return 'viewer';
  return undefined;
}

/**
 * Keys derived from the tokens: every process of a deployment accepts the same cookies, and
 * rotating a token ends every session.
 */
export function derivedKey(tokens: Tokens, purpose: 'session' | 'csrf'): string {
  return createHmac('sha256', `${tokens.admin}\0${tokens.viewer ?? ''}`).update(`switchboard console ${purpose} v1`).digest('base64url');
}

/** Requests over HTTPS (directly, or behind a proxy trusted with `server.trustProxy`) get Secure cookies. */
export function overTls(req: FastifyRequest): boolean {
  return req.protocol === 'https';
}

export function startSession(req: FastifyRequest, reply: FastifyReply, role: Role): Caller {
  const id = randomBytes(16).toString('base64url');
  const expiresAt = Date.now() + SESSION_MS;
  void reply.setCookie(SESSION_COOKIE, `${role}.${expiresAt}.${id}`, {
    signed: true,
    httpOnly: true,
    sameSite: 'strict',
    secure: overTls(req),
    path: COOKIE_PATH,
    maxAge: SESSION_MS / 1000,
  });
  return { role, via: 'cookie', sessionId: id };
}

export function endSession(reply: FastifyReply): void {
  void reply.clearCookie(SESSION_COOKIE, { path: COOKIE_PATH });
  void reply.clearCookie(CSRF_COOKIE, { path: COOKIE_PATH });
}

/** The caller from a bearer token or a valid, unexpired session cookie. */
export function identify(req: FastifyRequest, tokens: Tokens): Caller | undefined {
  const header = req.headers.authorization;
  if (header !== undefined) {
    const role = header.startsWith('Bearer ') ? roleOf(header.slice(7), tokens) : undefined;
    return role ? { role, via: 'bearer' } : undefined;
  }
  const raw = req.cookies[SESSION_COOKIE];
  if (!raw) return undefined;
  const unsigned = req.unsignCookie(raw);
  if (!unsigned.valid || unsigned.value === null) return undefined;
  const [role, expires, id] = unsigned.value.split('.');
  if ((role !== 'admin' && role !== 'viewer') || !id || !(Number(expires) > Date.now())) return undefined;
  return { role, via: 'cookie', sessionId: id };
}

/**
 * Only same-origin paths under /admin are followed after login: `//evil.example`,
 * `/\evil.example`, `https://…` and anything outside the console go to the overview.
 */
export function safeNext(next: unknown): string {
  if (typeof next !== 'string' || next.length > 500 || /[\\\s]/.test(next)) return '/admin';
  let url: URL;
  try {
    url = new URL(next, 'http://console.invalid');
  } catch {
    return '/admin';
  }
  if (url.origin !== 'http://console.invalid' || !next.startsWith('/admin')) return '/admin';
  if (url.pathname !== '/admin' && !url.pathname.startsWith('/admin/')) return '/admin';
  return `${url.pathname}${url.search}`;
}
