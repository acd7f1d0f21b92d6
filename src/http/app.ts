import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import { newId } from '../core/ids.ts';
import type { ChannelAction, ChannelInspection, ChannelStatus, HelpdeskInstance, HttpResponse, InboundRequest, Logger, RequestHead, RouteGuard, RouteSpec, SolvedTicket } from '../core/connector.ts';
import { syncJob } from '../core/pipeline.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { Metrics } from '../runtime/metrics.ts';
import { registerAdmin, type AdminDeps } from './admin.ts';
import { headOf, parseBody, parseQuery } from './inbound.ts';
import { registerCsatPage } from './csat-page.ts';
import type { Csat } from '../core/csat/csat.ts';
import type { CsatOptions } from '../core/csat/options.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by a guarded route's onRequest hook. */
    head?: RequestHead;
    /** The exact bytes of the body, on the gateway's own routes (see parseOwnRouteBody). */
    rawBody?: Buffer;
  }
}

export interface MountedChannel {
  id: string;
  kind: string;
  routes: RouteSpec[];
  status(): ChannelStatus;
  inspect?(): Promise<ChannelInspection>;
  actions?: ChannelAction[];
}

export interface AppDeps {
  runtime: Runtime;
  helpdesk: HelpdeskInstance;
  /** The rating question's email-link page. */
  csat?: { flow: Csat; texts: CsatOptions['texts'] };
  /** Tickets the helpdesk's event reports solved (the SLA clock stops, the rating question is asked). */
  solved?(tickets: SolvedTicket[]): Promise<void>;
  channels: MountedChannel[];
  metrics: Metrics;
  log: Logger;
  bodyLimit: number;
  trustProxy?: boolean | number | string | string[];
  /** /admin: the JSON API and the console (a page saying how to turn them on when no token is set). */
  admin: Omit<AdminDeps, 'extraRoutes' | 'runtime' | 'channels' | 'log'>;
}

/**
 * The Fastify app: channel routes (framework-free RouteSpecs adapted here), the helpdesk's
 * agent-reply route, health, readiness, metrics and the admin API. Raw bodies are kept for
 * signatures; errors are JSON that names the problem, never a stack trace.
 */
export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    bodyLimit: deps.bodyLimit,
    // Fastify accepts a hop count at run time although its types leave numbers out.
    trustProxy: (deps.trustProxy ?? false) as FastifyServerOptions['trustProxy'],
    return503OnClosing: true,
    routerOptions: { querystringParser: parseQuery },
  });

  // Every content type is read the same way: raw bytes, counted while they arrive and cut off past
  // the route's limit (a Content-Length over it is refused unread). Guards and parsing come after.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) deps.log.error({ err, url: routeLabel(req) }, 'request failed');
    void reply.status(status).send({
      error: status === 413 ? 'payload_too_large' : status >= 500 ? 'internal_error' : (err.code ?? 'bad_request'),
      message: status >= 500 ? 'internal error; see the gateway log' : err.message,
    });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: 'not_found', message: `no route for ${req.method} ${req.url.split('?')[0]!.slice(0, 200)}` });
  });

  for (const channel of deps.channels) {
    for (const spec of channel.routes) if (spec.prefix !== 'admin') mountRoute(app, deps, channel, spec);
  }

  guardedRoute(app, deps, {
    method: 'POST',
    url: '/helpdesk/events',
    label: 'helpdesk',
    bodyLimit: deps.bodyLimit,
    guard: deps.helpdesk.agentEventGuard,
    async handle(inbound) {
      const result = await deps.helpdesk.verifyAgentEvent(inbound);
      if (!result.ok) return { status: result.status, body: { error: 'rejected', message: result.error } };
      // Each event triggers a read of the ticket's comments; replies dedupe on comment id, so repeats are harmless.
      await deps.runtime.enqueue(result.ticketIds.map((id) => syncJob(id, `sync:${id}:${newId()}`, result.tags)));
      if (result.solved && result.solved.length > 0) await deps.solved?.(result.solved);
      return result.response ?? { status: 200, body: { ok: true, tickets: result.ticketIds.length } };
    },
  });

  if (deps.csat?.flow.active) registerCsatPage(app, deps.csat.flow, deps.csat.texts);

  app.get('/healthz', async () => ({ ok: true }));
  app.get('/readyz', async (_req, reply) => {
    const checks: Record<string, { ready: boolean; detail?: string }> = {};
    try {
      await deps.runtime.ping();
      checks['store'] = { ready: true };
    } catch (err) {
      checks['store'] = { ready: false, detail: err instanceof Error ? err.message : String(err) };
    }
    for (const c of deps.channels) {
      const s = c.status();
      checks[`channel:${c.id}`] = s;
      deps.metrics.channelUp.set({ channel: c.id }, s.ready ? 1 : 0);
    }
    const ready = Object.values(checks).every((c) => c.ready);
    return reply.status(ready ? 200 : 503).send({ ready, checks });
  });
  app.get('/metrics', async (_req, reply) => {
    // Channel readiness is read at scrape time too, so a dashboard sees it without /readyz being polled.
    for (const c of deps.channels) deps.metrics.channelUp.set({ channel: c.id }, c.status().ready ? 1 : 0);
    const text = await deps.metrics.render(deps.runtime);
    return reply.header('content-type', deps.metrics.registry.contentType).send(text);
  });

  // Channels' admin routes (a QR code to link an account) sit behind the same access rules as /admin/*.
  await registerAdmin(app, {
    ...deps.admin,
    runtime: deps.runtime,
    channels: deps.channels,
    log: deps.log,
    extraRoutes: (admin) => {
      for (const channel of deps.channels) {
        for (const spec of channel.routes) if (spec.prefix === 'admin') mountRoute(admin, deps, channel, spec);
      }
    },
  });
  return app;
}

function mountRoute(app: FastifyInstance, deps: AppDeps, channel: MountedChannel, spec: RouteSpec): void {
  const url = spec.prefix === 'admin' ? `/admin/channels/${channel.id}${spec.path}` : `/${spec.prefix ?? 'webhooks'}/${channel.id}${spec.path}`;
  // An admin route (a QR code to link an account) is an engineer at work, not a webhook: it
  // never waits in the channel's line, so a storm does not lock the on-call out of the channel.
  const turn = spec.prefix !== 'admin';
  guardedRoute(app, deps, { method: spec.method, url, label: channel.id, turn, bodyLimit: spec.bodyLimit ?? deps.bodyLimit, guard: spec.guard, handle: spec.handler });
}

interface GuardedRoute {
  method: RouteSpec['method'];
  url: string;
  /** The route's name in metrics and logs (never the request's own URL). */
  label: string;
  /** Takes its turn with the deliveries (IngressShare) in the line named by `label`. Default: yes. */
  turn?: boolean;
  bodyLimit: number;
  guard?: RouteGuard;
  handle(req: InboundRequest): Promise<HttpResponse>;
}

/**
 * A route that checks its sender before paying for the body: the head guard runs when the
 * headers are in (a refusal closes the connection, so an upload in flight is not read), the body
 * guard on the raw bytes, and only then is the body parsed. Bad input is a 4xx naming the field.
 */
function guardedRoute(app: FastifyInstance, deps: AppDeps, r: GuardedRoute): void {
  const refuse = (req: FastifyRequest, reply: FastifyReply, res: HttpResponse, unread: boolean): FastifyReply => {
    deps.metrics.rejected.inc({ route: r.label, status: String(res.status) });
    if (res.status === 401 || res.status === 403) deps.log.warn({ route: r.label, status: res.status, ip: req.ip, error: errorText(res) }, 'request refused');
    if (unread) void reply.header('connection', 'close');
    return send(reply, res);
  };
  const badInput = (field: string, error: string): HttpResponse => ({ status: 400, body: { error: 'bad_request', field, message: `${field} ${error}` } });

  app.route({
    method: r.method,
    url: r.url,
    bodyLimit: r.bodyLimit,
    // Callback style: a hook that is not async costs every request no promise. A refusal answers
    // here and never calls done, so nothing after it runs.
    onRequest: (req, reply, done) => {
      const head = headOf(req);
      if (!head.ok) return void refuse(req, reply, badInput(head.field, head.error), hasBody(req));
      req.head = head.value;
      const refused = r.guard?.head?.(head.value);
      if (refused) return void refuse(req, reply, refused, hasBody(req));
      done();
    },
    handler: async (req, reply) => {
      const head = req.head!;
      // Under /admin the scope's hook already parsed the body and kept the bytes in rawBody.
      const raw = req.rawBody ?? (Buffer.isBuffer(req.body) ? req.body : EMPTY);
      // A body that fails its signature is refused before it takes a turn: an attacker's requests
      // never queue ahead of the vendor's while deliveries run.
      const refused = r.guard?.body?.(head, raw);
      if (refused) return refuse(req, reply, refused, false);
      const handle = async () => {
        const parsed = await parseBody(head, raw);
        if (!parsed.ok) return refuse(req, reply, badInput(parsed.field, parsed.error), false);
        const res = await r.handle({ ...head, rawBody: raw, body: parsed.value.body, files: parsed.value.files });
        return res.status >= 400 ? refuse(req, reply, res, false) : send(reply, res);
      };
      if (r.turn === false) return handle();
      // Its turn with the deliveries of this process (see IngressShare): up to the answer written.
      // Too many of this route waiting already: 503, the channel sends it again later.
      return deps.runtime.admit(r.label, handle, () => refuse(req, reply, WAIT_FULL, false));
    },
  });
}

const EMPTY = Buffer.alloc(0);

/** A webhook that found its route's waiting line full (delivery.maxWaitingWebhooks). */
const WAIT_FULL: HttpResponse = {
  status: 503,
  headers: { 'retry-after': '1' },
  body: { error: 'busy', message: 'too many webhooks of this route are waiting for their turn; send it again later' },
};

/** A body is on its way (and would be read if the connection stayed open). */
function hasBody(req: FastifyRequest): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

function errorText(res: HttpResponse): string | undefined {
  const body = res.body as { error?: unknown; message?: unknown } | undefined;
  const text = typeof body?.message === 'string' ? body.message : typeof body?.error === 'string' ? body.error : undefined;
  return text?.slice(0, 200);
}

function send(reply: FastifyReply, res: HttpResponse): FastifyReply {
  if (res.headers) void reply.headers(res.headers);
  return reply.status(res.status).send(res.body ?? '');
}

function routeLabel(req: FastifyRequest): string {
  return `${req.method} ${req.routeOptions.url ?? req.url.split('?')[0]}`;
}
