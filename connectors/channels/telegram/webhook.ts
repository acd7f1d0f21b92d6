import type { ChannelContext, HttpResponse, InboundRequest, RouteSpec } from '../../../src/core/connector.ts';
import { refusedInput } from '../../../src/core/errors.ts';
import { jsonBody } from '../../../src/core/safe-parse.ts';
import { secretMatches } from '../../../src/kit/inbound/secret-matches.ts';
import type { Normalized } from './normalize.ts';
import { parseUpdate, type TgUpdate } from './update.ts';

export const SECRET_HEADER = 'x-telegram-bot-api-secret-token';

export interface WebhookDeps {
  secretToken: string;
  ctx: Pick<ChannelContext, 'accept' | 'log'>;
  normalize(update: TgUpdate): Normalized;
}

/**
 * POST /webhooks/{channelId}: Telegram's update delivery. The secret token header is checked
 * before the body is read. Answers 200 only once the message is stored; any other status makes
 * Telegram send the same update again, which is what we want when the store failed, and harmless
 * otherwise because accept() is insert-if-absent.
 */
export function webhookRoute(deps: WebhookDeps): RouteSpec {
  return {
    method: 'POST',
    path: '',
    guard: {
      head: (req) => (secretMatches(req.headers[SECRET_HEADER], deps.secretToken) ? undefined : { status: 401, body: { error: `missing or wrong ${SECRET_HEADER} header` } }),
    },
    handler: (req) => handleWebhook(deps, req),
  };
}

async function handleWebhook(deps: WebhookDeps, req: InboundRequest): Promise<HttpResponse> {
  const decoded = jsonBody(req);
  if (!decoded.ok) return { status: 400, body: { error: `not a Telegram update: ${decoded.field} ${decoded.error}` } };
  const parsed = parseUpdate(decoded.value);
  if (!parsed.ok) return { status: 400, body: { error: parsed.error } };

  const result = deps.normalize(parsed.update);
  if ('ignored' in result) {
    deps.ctx.log.debug({ updateId: parsed.update.update_id, reason: result.ignored }, 'telegram update ignored');
    return { status: 200 };
  }
  try {
    await deps.ctx.accept([result.draft]);
  } catch (err) {
    const refused = refusedInput(err);
    if (refused) return refused;
    deps.ctx.log.error({ err, updateId: parsed.update.update_id }, 'telegram update could not be stored; Telegram will retry');
    return { status: 503, body: { error: 'could not store the update; retry later' } };
  }
  return { status: 200 };
}
