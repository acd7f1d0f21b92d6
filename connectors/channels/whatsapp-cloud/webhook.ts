import type { ChannelContext, HttpResponse, InboundRequest, KeyValueStore, Logger, RouteGuard, RouteSpec } from '../../../src/core/connector.ts';
import { refusedInput } from '../../../src/core/errors.ts';
import { jsonBody } from '../../../src/core/safe-parse.ts';
import type { InboundDraft } from '../../../src/core/message.ts';
import { secretMatches } from '../../../src/kit/inbound/secret-matches.ts';
import { reactionText, readChange, type NormalizeOptions } from './normalize.ts';
import { ChangeValue, WebhookPayload } from './payload.ts';
import { lookupSent } from './sent-index.ts';
import { SIGNATURE_HEADER, signatureMatches } from './signature.ts';
import { reportStatuses } from './statuses.ts';
import type { TemplateOptions } from './options.ts';

export interface WebhookDeps {
  phoneNumberId: string;
  appSecret: string;
  verifyToken: string;
  normalize: NormalizeOptions;
  template?: TemplateOptions;
  ctx: Pick<ChannelContext, 'accept' | 'noteToAgents' | 'replyAgain' | 'afterSends'>;
  kv: KeyValueStore;
  log: Logger;
}

/** `GET /webhooks/{id}`: Meta's verification handshake; `POST`: signed event batches. */
export function webhookRoutes(deps: WebhookDeps): RouteSpec[] {
  return [
    { method: 'GET', path: '', handler: async (req) => verifyHandshake(deps, req) },
    { method: 'POST', path: '', guard: signatureGuard(deps.appSecret), handler: (req) => receive(deps, req) },
  ];
}

/** Meta's challenges are numbers; anything else is not echoed back. */
const CHALLENGE = /^[A-Za-z0-9_-]{1,128}$/;

export function verifyHandshake(deps: Pick<WebhookDeps, 'verifyToken'>, req: InboundRequest): HttpResponse {
  const mode = req.query['hub.mode'];
  const token = req.query['hub.verify_token'];
  const challenge = req.query['hub.challenge'];
  if (mode !== 'subscribe') return { status: 400, body: { error: 'hub.mode must be "subscribe"' } };
  if (!secretMatches(token, deps.verifyToken)) return { status: 403, body: { error: 'hub.verify_token does not match this channel\'s verifyToken' } };
  if (challenge === undefined || !CHALLENGE.test(challenge)) return { status: 400, body: { error: 'hub.challenge is missing or not a plain token' } };
  return { status: 200, body: challenge, headers: { 'content-type': 'text/plain; charset=utf-8' } };
}

const unsigned = { status: 401, body: { error: `missing or wrong ${SIGNATURE_HEADER} header (HMAC-SHA256 of the body with the app secret)` } };

/** An unsigned request is refused before its body is read; a signed one is checked on the exact bytes. */
function signatureGuard(appSecret: string): RouteGuard {
  return {
    head: (req) => (req.headers[SIGNATURE_HEADER] ? undefined : unsigned),
    body: (req, raw) => (signatureMatches(req.headers[SIGNATURE_HEADER], raw, appSecret) ? undefined : unsigned),
  };
}

/**
 * Reads every entry × change × message/status, stores all the messages in
 * one `accept` (durable before the 200), then tells the agents about failed deliveries and
 * reactions. A non-2xx makes Meta send the whole batch again, which dedupe makes harmless.
 */
async function receive(deps: WebhookDeps, req: InboundRequest): Promise<HttpResponse> {
  const json = jsonBody(req);
  if (!json.ok) return { status: 400, body: { error: `${json.field} ${json.error}` } };
  const payload = WebhookPayload.safeParse(json.value);
  if (!payload.success) {
    const issue = payload.error.issues[0];
    return { status: 400, body: { error: `not a WhatsApp webhook payload: ${issue ? `${issue.path.join('.') || 'body'}: ${issue.message}` : 'unexpected shape'}` } };
  }
  if (payload.data.object !== 'whatsapp_business_account') {
    deps.log.info({ object: payload.data.object }, 'whatsapp-cloud: webhook for another object ignored');
    return { status: 200 };
  }

  const drafts: InboundDraft[] = [];
  const notes: { conversation: string; text: string; key: string }[] = [];
  const reactions: ReturnType<typeof readChange>['reactions'] = [];
  const statuses: ReturnType<typeof readChange>['statuses'] = [];
  for (const entry of payload.data.entry) {
    for (const change of entry.changes) {
      if (change.field !== 'messages') continue;
      const value = ChangeValue.safeParse(change.value);
      if (!value.success) {
        deps.log.warn({ entry: entry.id, issues: value.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) }, 'whatsapp-cloud: change without metadata skipped');
        continue;
      }
      if (value.data.metadata.phone_number_id !== deps.phoneNumberId) {
        deps.log.warn({ phoneNumberId: value.data.metadata.phone_number_id }, 'whatsapp-cloud: event for another business number ignored (configure a channel for it, or a per-number webhook)');
        continue;
      }
      if (value.data.errors?.length) deps.log.warn({ errors: value.data.errors }, 'whatsapp-cloud: Meta reports webhook errors');
      const events = readChange(value.data, deps.normalize);
      for (const s of events.skipped) deps.log.info({ id: s.id, reason: s.reason }, 'whatsapp-cloud: item not turned into a message');
      drafts.push(...events.drafts);
      notes.push(...events.notes);
      reactions.push(...events.reactions);
      statuses.push(...events.statuses);
    }
  }

  try {
    if (drafts.length > 0) await deps.ctx.accept(drafts);
    await reportStatuses(deps, statuses);
    for (const r of reactions) {
      const sent = await lookupSent(deps.kv, r.messageId);
      notes.push({ conversation: r.conversation, text: reactionText(r.emoji, r.messageId, sent?.excerpt), key: r.key });
    }
    for (const n of notes) await deps.ctx.noteToAgents(n.conversation, n.text, n.key);
  } catch (err) {
    const refused = refusedInput(err);
    if (refused) return refused;
    deps.log.error({ err, messages: drafts.length }, 'whatsapp-cloud: webhook could not be stored; Meta will retry');
    return { status: 503, body: { error: 'could not store the events; retry later' } };
  }
  return { status: 200 };
}
