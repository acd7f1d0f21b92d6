import { z } from 'zod';
import { DeliveryError, errorFromNetwork, parseRetryAfter, type DeliveryErrorInit } from '../../../src/core/errors.ts';

/** Meta's error codes the gateway acts on (Graph API error `code`). */
export const META = {
  /** More than 24 hours since the customer last wrote: only a template may be sent. */
  REENGAGEMENT: 131047,
  /** Access token expired or invalid. */
  TOKEN: 190,
  /** Throughput of the business number exceeded. */
  THROUGHPUT: 130429,
  /** Too many messages to the same customer in a short time (about one per 6 s). */
  PAIR_RATE: 131056,
} as const;

/** Codes that mean "wait, then the same request works": app, account and number rate limits. */
const RATE_LIMIT_CODES = new Set<number>([4, 17, 32, 613, 80007, META.THROUGHPUT, META.PAIR_RATE]);
/** Codes Meta documents as temporary ("try again later"). */
const TRANSIENT_CODES = new Set<number>([1, 2, 131000, 131016]);

const MetaErrorBody = z.looseObject({
  error: z.looseObject({
    message: z.string().optional(),
    type: z.string().optional(),
    code: z.number().optional(),
    error_subcode: z.number().optional(),
    error_data: z.looseObject({ details: z.string().optional() }).optional(),
    fbtrace_id: z.string().optional(),
  }),
});

/** A failed Graph API call, with Meta's error code next to the HTTP status. */
export class MetaApiError extends DeliveryError {
  readonly code?: number;
  constructor(message: string, init: DeliveryErrorInit & { code?: number }) {
    super(message, init);
    this.name = 'MetaApiError';
    this.code = init.code;
  }
}

export function isReengagementError(err: unknown): boolean {
  return err instanceof MetaApiError && err.code === META.REENGAGEMENT;
}

/**
 * Sorts a Graph API error answer. The body is kept verbatim as `detail` (it carries Meta's
 * code, title and details, which the agent or the engineer on call needs as they are).
 */
export function metaError(what: string, status: number, body: string, headers: { get(name: string): string | null }, write: boolean): MetaApiError {
  const detail = body.slice(0, 8000);
  let parsed: z.infer<typeof MetaErrorBody>['error'] | undefined;
  try {
    const result = MetaErrorBody.safeParse(JSON.parse(body));
    if (result.success) parsed = result.data.error;
  } catch {
    // not JSON: an HTML error page from a proxy; the status decides
  }
  const code = parsed?.code;
  const said = parsed ? ` ${code !== undefined ? `(#${code}) ` : ''}${parsed.message ?? ''}${parsed.error_data?.details ? ` — ${parsed.error_data.details}` : ''}`.trimEnd() : '';
  const message = `${what}: ${status}${said ? `${said}` : ''}`;
  const retryAfterMs = parseRetryAfter(headers.get('retry-after'));

  if (status === 429 || (code !== undefined && RATE_LIMIT_CODES.has(code))) {
    const wait = retryAfterMs ?? (code === META.PAIR_RATE ? 6_000 : undefined);
    return new MetaApiError(message, { kind: 'rate_limited', status, code, retryAfterMs: wait, detail });
  }
  if (status >= 500 || status === 408 || (code !== undefined && TRANSIENT_CODES.has(code))) {
    return new MetaApiError(message, { kind: 'retry', status, code, retryAfterMs, detail, ambiguous: write && status !== 503 });
  }
  if (code === META.TOKEN || status === 401) {
    return new MetaApiError(`${message} (the access token was refused: create a permanent System User token and update accessToken)`, { kind: 'permanent', status, code, detail });
  }
  return new MetaApiError(message, { kind: 'permanent', status, code, detail });
}

/** A network failure: the call may have reached Meta. */
export function networkError(what: string, err: unknown): DeliveryError {
  return errorFromNetwork(what, err);
}
