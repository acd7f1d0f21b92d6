import cookie from '@fastify/cookie';
import csrf from '@fastify/csrf-protection';
import rateLimit from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Runtime } from '../runtime/runtime.ts';
import { COOKIE_PATH, CSRF_COOKIE, derivedKey, identify, type Tokens } from './console/access.ts';
import { registerConsole, type ConsoleDeps } from './console/index.ts';
import { parseOwnRouteBody } from './inbound.ts';
import { consoleOffPage } from './console/login.ts';
import { html, page, sendPage } from './console/page.ts';

export interface AdminDeps extends Omit<ConsoleDeps, 'tokens'> {
  /** Absent: no admin token is configured; /admin shows how to turn the console on. */
  tokens?: Tokens;
  runtime: Runtime;
  /** Channels' own admin routes (a QR code), mounted in the same scope. */
  extraRoutes?: (app: FastifyInstance) => void;
}

export const RulesTestInput = z.object({
  channel: z.string().min(1),
  text: z.string(),
  first: z.boolean().default(true),
  sender: z.record(z.string(), z.string()).optional(),
  form: z.record(z.string(), z.string()).optional(),
});
export type RulesTestInput = z.infer<typeof RulesTestInput>;

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Pages may load only their own script, style sheet and images, and may not be framed. */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  // same-origin, not no-referrer: with no-referrer browsers send `Origin: null` on the console's own forms.
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

/**
 * Everything under /admin: the JSON API for scripts (bearer token) and the console for people
 * (session cookie), behind one set of rules (see console/access.ts):
 * - no credentials: 401 (a console page redirects to the login);
 * - a viewer may GET, and POST only where the route only reads (the rule tester);
 * - a cookie-authenticated request that is not a GET needs the CSRF token of its session and,
 *   when the browser says where it comes from, the same origin.
 */
export async function registerAdmin(app: FastifyInstance, deps: AdminDeps): Promise<void> {
  const tokens = deps.tokens;
  if (!tokens) {
    const off = async (_req: FastifyRequest, reply: FastifyReply) => sendPage(reply.headers(SECURITY_HEADERS), consoleOffPage(), 403);
    app.get('/admin', off);
    app.get('/admin/*', off);
    return;
  }
  await app.register(async (admin) => {
    await admin.register(cookie, { secret: derivedKey(tokens, 'session'), hook: 'onRequest' });
    await admin.register(csrf, {
      sessionPlugin: '@fastify/cookie',
      cookieKey: CSRF_COOKIE,
      cookieOpts: { path: COOKIE_PATH, sameSite: 'strict', httpOnly: true, signed: true },
      // Bound to the session: a token from another session (or none) does not pass.
      getUserInfo: (req) => req.caller?.sessionId ?? '',
      csrfOpts: { hmacKey: derivedKey(tokens, 'csrf') },
    });
    await admin.register(rateLimit, { global: false });
    // The bodies every route reads raw are parsed here by the gateway's safe parsers (the CSRF check reads the form).
    admin.addHook('preValidation', parseOwnRouteBody);

    admin.addHook('onRequest', async (req, reply) => {
      void reply.headers(SECURITY_HEADERS);
      const config = req.routeOptions.config;
      if (!SAFE_METHODS.has(req.method) && !sameOrigin(req)) {
        return refuse(req, reply, 403, 'cross_origin', 'this request comes from another site');
      }
      if (config.public) return;
      const caller = identify(req, tokens);
      if (!caller) {
        if (config.console && req.method === 'GET') return reply.redirect(`/admin/login?next=${encodeURIComponent(req.url)}`, 303);
        return refuse(req, reply, 401, 'unauthorized', 'send Authorization: Bearer <server.adminToken>, or log in at /admin/login');
      }
      req.caller = caller;
      if (!SAFE_METHODS.has(req.method) && caller.role !== 'admin' && !config.readOnly) {
        return refuse(req, reply, 403, 'forbidden', 'the viewer token may look, not change anything; log in with the admin token');
      }
    });
    // After the body is read: the token comes in the form (`_csrf`) or an `x-csrf-token` header.
    admin.addHook('preHandler', (req, reply, done) => {
      if (SAFE_METHODS.has(req.method) || req.caller?.via !== 'cookie') return done();
      admin.csrfProtection(req, reply, done);
    });
    admin.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
      const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
      if (status >= 500) deps.log.error({ err, url: req.routeOptions.url }, 'admin request failed');
      const message = status >= 500
        ? 'internal error; see the gateway log'
        : err.code?.startsWith('FST_CSRF')
          ? 'the form is stale or did not come from this console (missing or wrong CSRF token); reload the page and try again'
          : status === 413 ? 'the form is too large' : status === 429 ? 'too many attempts; wait a minute and try again' : err.message;
      return refuse(req, reply, status, status === 413 ? 'payload_too_large' : status >= 500 ? 'internal_error' : (err.code ?? 'bad_request'), message);
    });

    registerApi(admin, deps.runtime, deps.testRules);
    registerConsole(admin, { ...deps, tokens });
    deps.extraRoutes?.(admin);
  });
}

/** The JSON API for scripts. */
function registerApi(admin: FastifyInstance, runtime: Runtime, testRules: ConsoleDeps['testRules']): void {
  admin.get('/admin/dlq', async (req) => {
    const limit = Number((req.query as { limit?: string }).limit ?? 100);
    return { items: await runtime.dlq.list({ limit: Number.isFinite(limit) ? limit : 100 }) };
  });
  admin.get<{ Params: { id: string } }>('/admin/dlq/:id', async (req, reply) => {
    const item = await runtime.dlq.get(req.params.id);
    return item ?? reply.status(404).send({ error: 'not_found', message: `no dead letter ${req.params.id}` });
  });
  admin.post<{ Params: { id: string } }>('/admin/dlq/:id/replay', async (req, reply) => {
    const n = await runtime.dlq.replay(req.params.id);
    if (n === 0 && req.params.id !== 'all') return reply.status(404).send({ error: 'not_found', message: `no dead letter ${req.params.id}` });
    return { replayed: n };
  });
  admin.delete<{ Params: { id: string } }>('/admin/dlq/:id', async (req, reply) => {
    const n = await runtime.dlq.drop(req.params.id);
    if (n === 0 && req.params.id !== 'all') return reply.status(404).send({ error: 'not_found', message: `no dead letter ${req.params.id}` });
    return { dropped: n };
  });
  admin.get('/admin/status', async () => runtime.stats());
  admin.post('/admin/rules/test', { config: { readOnly: true } }, async (req, reply) => {
    const parsed = RulesTestInput.safeParse(req.body);
    if (!parsed.success) {
      return reply.status(400).send({ error: 'validation_failed', message: parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ') });
    }
    return testRules(parsed.data);
  });
}

/** Browsers say where a request comes from; a form posted from another site is refused. */
function sameOrigin(req: FastifyRequest): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === new URL(`${req.protocol}://${req.headers.host ?? ''}`).host;
  } catch {
    return false;
  }
}

/** HTML for the console's pages and forms, JSON for the API. */
function refuse(req: FastifyRequest, reply: FastifyReply, status: number, code: string, message: string): FastifyReply {
  if (!req.routeOptions.config?.console) return reply.status(status).send({ error: code, message });
  const body = status === 401
    ? html`<p>${message}.</p><p><a href="/admin/login">Log in</a></p>`
    : html`<p class="problem">${message}.</p><p><a href="/admin">Back to the overview</a></p>`;
  return sendPage(reply, page({ title: status === 401 ? 'Please log in' : 'Refused', body }), status);
}
