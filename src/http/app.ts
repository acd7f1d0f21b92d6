import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import multipart from '@fastify/multipart';
import { newId } from '../core/ids.ts';
import type { ChannelAction, ChannelInspection, ChannelStatus, HelpdeskInstance, HttpResponse, InboundRequest, Logger, RouteSpec, UploadedFile } from '../core/connector.ts';
import { syncJob } from '../core/pipeline.ts';
import type { Runtime } from '../runtime/runtime.ts';
import type { Metrics } from '../runtime/metrics.ts';
import { registerAdmin, type AdminDeps } from './admin.ts';
import { registerCsatPage } from './csat-page.ts';
import type { Csat } from '../core/csat/csat.ts';
import type { CsatOptions } from '../core/csat/options.ts';

declare module 'fastify' {
  interface FastifyRequest {
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
  /** The rating question: solved tickets are handed to it, and its email-link page is mounted. */
  csat?: { flow: Csat; texts: CsatOptions['texts'] };
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
  });

  // Keep the exact bytes; parse leniently so a route can verify the sender before judging the body.
  const keepRaw = (parse: (raw: Buffer) => unknown) => (req: FastifyRequest, body: Buffer, done: (err: Error | null, body?: unknown) => void) => {
    req.rawBody = body;
    try {
      done(null, body.length === 0 ? undefined : parse(body));
    } catch {
      done(null, undefined);
    }
  };
  app.addContentTypeParser(['application/json', 'application/*+json'], { parseAs: 'buffer' }, keepRaw((b) => JSON.parse(b.toString('utf8'))));
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'buffer' }, keepRaw((b) => Object.fromEntries(new URLSearchParams(b.toString('utf8')))));
  app.addContentTypeParser('*', { parseAs: 'buffer' }, keepRaw(() => undefined));
  await app.register(multipart, { limits: { fileSize: deps.bodyLimit, files: 20, fields: 200, parts: 220 } });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    if (status >= 500) deps.log.error({ err, url: routeLabel(req) }, 'request failed');
    void reply.status(status).send({
      error: status === 413 ? 'payload_too_large' : status >= 500 ? 'internal_error' : (err.code ?? 'bad_request'),
      message: status >= 500 ? 'internal error; see the gateway log' : err.message,
    });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: 'not_found', message: `no route for ${req.method} ${req.url.split('?')[0]}` });
  });

  for (const channel of deps.channels) {
    for (const spec of channel.routes) if (spec.prefix !== 'admin') mountRoute(app, deps, channel, spec);
  }

  app.post('/helpdesk/events', async (req, reply) => {
    await deps.runtime.admit();
    const inbound = await toInbound(req, deps.bodyLimit);
    const result = await deps.helpdesk.verifyAgentEvent(inbound);
    if (!result.ok) {
      deps.metrics.rejected.inc({ route: 'helpdesk', status: String(result.status) });
      deps.log.warn({ status: result.status, error: result.error, ip: req.ip }, 'agent event refused');
      return reply.status(result.status).send({ error: 'rejected', message: result.error });
    }
    // Each event triggers a read of the ticket's comments; replies dedupe on comment id, so repeats are harmless.
    await deps.runtime.enqueue(result.ticketIds.map((id) => syncJob(id, `sync:${id}:${newId()}`)));
    if (result.solved && result.solved.length > 0) await deps.csat?.flow.solved(result.solved);
    return send(reply, result.response ?? { status: 200, body: { ok: true, tickets: result.ticketIds.length } });
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
  const limit = spec.bodyLimit ?? deps.bodyLimit;
  app.route({
    method: spec.method,
    url,
    bodyLimit: limit,
    handler: async (req, reply) => {
      await deps.runtime.admit();
      let inbound: InboundRequest;
      try {
        inbound = await toInbound(req, limit);
      } catch (err) {
        const status = (err as { statusCode?: number }).statusCode ?? 400;
        return reply.status(status).send({ error: status === 413 ? 'payload_too_large' : 'bad_request', message: (err as Error).message });
      }
      const res = await spec.handler(inbound);
      if (res.status >= 400) deps.metrics.rejected.inc({ route: channel.id, status: String(res.status) });
      return send(reply, res);
    },
  });
}

async function toInbound(req: FastifyRequest, fileLimit: number): Promise<InboundRequest> {
  let body: unknown = req.body;
  const files: UploadedFile[] = [];
  if (req.isMultipart()) {
    const fields: Record<string, string> = {};
    for await (const part of req.parts({ limits: { fileSize: fileLimit } })) {
      if (part.type === 'file') {
        files.push({ field: part.fieldname, filename: part.filename, mime: part.mimetype, data: await part.toBuffer() });
      } else {
        fields[part.fieldname] = String(part.value);
      }
    }
    body = fields;
  }
  const headers: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(req.headers)) headers[k] = Array.isArray(v) ? v.join(', ') : v;
  return {
    method: req.method,
    url: req.url,
    headers,
    query: (req.query ?? {}) as Record<string, string | undefined>,
    rawBody: req.rawBody ?? Buffer.alloc(0),
    body,
    files,
    ip: req.ip,
  };
}

function send(reply: FastifyReply, res: HttpResponse): FastifyReply {
  if (res.headers) void reply.headers(res.headers);
  return reply.status(res.status).send(res.body ?? '');
}

function routeLabel(req: FastifyRequest): string {
  return `${req.method} ${req.routeOptions.url ?? req.url.split('?')[0]}`;
}
