import type { ChannelContext, ChannelInstance, HttpResponse, InboundRequest } from '../../../src/core/connector.ts';
import { DeliveryError, refusedInput } from '../../../src/core/errors.ts';
import { authGuard } from '../../../src/kit/inbound/auth.ts';
import { decodeBody } from '../../../src/kit/inbound/decode.ts';
import { inboundOnlySend } from '../../../src/kit/outbound/inbound-only.ts';
import { CallTracker } from '../../../src/kit/telephony/call-tracker.ts';
import { CtiRequest, toCallEvents, withAliases } from './event.ts';
import type { CtiOptions } from './options.ts';

/** POST /webhooks/{channelId}: one CTI event per request, JSON or form; answers `{}` as Zammad does. */
export function createCtiChannel(options: CtiOptions, ctx: ChannelContext): ChannelInstance {
  const log = ctx.log.child({ kind: 'cti' });
  const calls = new CallTracker({ kv: ctx.kv, accept: ctx.accept, log, callLog: options.callLog });

  async function receive(req: InboundRequest): Promise<HttpResponse> {
    const decoded = decodeBody(req, 'auto');
    if (!decoded.ok) return { status: 400, body: { error: decoded.error } };
    const parsed = CtiRequest.safeParse(withAliases(decoded.body));
    if (!parsed.success) {
      const error = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
      return { status: 422, body: { error } };
    }
    const r = parsed.data;
    try {
      await calls.handle(r.callId, toCallEvents(r, new Date().toISOString()));
    } catch (err) {
      const refused = refusedInput(err);
      if (refused) return refused;
      log.error({ err, callId: r.callId, event: r.event }, 'CTI event could not be stored; the PBX should retry');
      return { status: 503, body: { error: 'could not store the event; retry later' } };
    }
    return { status: 200, body: {} };
  }

  return {
    routes: [{ method: 'POST', path: '', handler: receive, guard: authGuard(options.auth) }],
    send: inboundOnlySend(`channel '${ctx.channelId}' (phone)`),
    async fetchAttachment(ref) {
      throw new DeliveryError(`the CTI channel has no files to fetch (${ref.name})`, { kind: 'permanent' });
    },
  };
}
