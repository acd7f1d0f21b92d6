import { refusedInput } from '../../../src/core/errors.ts';
import type { ChannelContext, ChannelInstance, HttpResponse, InboundRequest, RouteSpec } from '../../../src/core/connector.ts';
import { webhookGuard } from './vendor-auth.ts';
import { decodeBody } from '../../../src/kit/inbound/decode.ts';
import { fetchFile } from '../../../src/kit/fetch/fetch-file.ts';
import { inboundOnlySend } from '../../../src/kit/outbound/inbound-only.ts';
import { mapPayload } from './normalize.ts';
import { resolveWebhook, type WebhookChannelOptions } from './options.ts';
import type { Source } from './paths.ts';

/**
 * The generic webhook channel: verify the sender on the raw bytes, decode, drop or map the
 * payload declaratively, store it, answer. It only receives: replies cannot go back through it.
 */
export function createWebhookChannel(options: WebhookChannelOptions, ctx: ChannelContext): ChannelInstance {
  const cfg = resolveWebhook(options);
  const log = ctx.log.child({ kind: 'webhook' });
  const ok = (): HttpResponse => ({ status: cfg.response.status, body: cfg.response.body });

  async function receive(req: InboundRequest): Promise<HttpResponse> {
    const path = subPath(req.url, ctx.channelId);
    const decoded = decodeBody(req, cfg.format, cfg.jsonField);
    if (!decoded.ok) return { status: 400, body: { error: decoded.error } };
    const src: Source = { body: decoded.body, path, query: req.query };
    const mapped = mapPayload(cfg, src, req.rawBody);
    if ('dropped' in mapped) {
      log.debug({ path, because: mapped.dropped }, 'webhook event dropped by condition');
      return ok();
    }
    if ('error' in mapped) {
      log.warn({ path, error: mapped.error }, 'webhook event could not be mapped');
      return { status: 422, body: { error: mapped.error } };
    }
    try {
      await ctx.accept([mapped.draft]);
    } catch (err) {
      const refused = refusedInput(err);
      if (refused) return refused;
      log.error({ err, path }, 'webhook event could not be stored; the sender should retry');
      return { status: 503, body: { error: 'could not store the event; retry later' } };
    }
    return ok();
  }

  const guard = webhookGuard(cfg.auth);
  const routes: RouteSpec[] = [
    { method: 'POST', path: '', handler: receive, guard },
    // Vendors such as Mango Office append their own paths (/events/summary) to the base URL.
    { method: 'POST', path: '/*', handler: receive, guard },
  ];
  const echo = cfg.echo;
  if (echo) {
    routes.push({
      method: 'GET',
      path: '',
      handler: async (req) => {
        const value = req.query[echo.param];
        if (value === undefined) return { status: 400, body: { error: `expected ?${echo.param}=…` } };
        return { status: 200, body: value, headers: { 'content-type': 'text/plain; charset=utf-8' } };
      },
    });
  }

  return {
    routes,
    send: inboundOnlySend(`channel '${ctx.channelId}' (webhook)`),
    // The URL came from the sender's payload: only public hosts (or the allow-list), capped in size and time.
    fetchAttachment: (ref) => fetchFile(ref.source, cfg.attachments, { name: ref.name, mime: ref.mime }),
  };
}

/** The part of the URL below /webhooks/{id} ('/' for the root), without the query. */
export function subPath(url: string, channelId: string): string {
  const pathname = url.split('?')[0] ?? '';
  const mount = `/webhooks/${channelId}`;
  const rest = pathname.startsWith(mount) ? pathname.slice(mount.length) : pathname;
  return rest === '' ? '/' : rest;
}
