import { DeliveryError } from '../../../src/core/errors.ts';
import { firstLine, isRecord, parseJson, type VendorAnswers } from '../../../src/kit/helpdesk-http/answer-errors.ts';

/** `details` of a RecordInvalid answer as "field: description" lines. */
function detailLines(details: unknown): string[] {
  if (!isRecord(details)) return [];
  const lines: string[] = [];
  for (const [field, entries] of Object.entries(details)) {
    for (const entry of Array.isArray(entries) ? entries : [entries]) {
      const description = isRecord(entry) ? (entry.description ?? entry.error ?? entry.type) : entry;
      lines.push(`${field}: ${typeof description === 'string' ? description : JSON.stringify(description)}`);
    }
  }
  return lines;
}

/** One line that says what Zendesk objected to, from any of its error body shapes (or plain text). */
export function summarizeZendeskBody(body: string): string {
  const json = parseJson(body);
  if (isRecord(json)) {
    const lines = detailLines(json.details);
    if (lines.length > 0) return lines.join('; ');
    const { error, description } = json;
    if (typeof error === 'string') return typeof description === 'string' ? `${error}: ${description}` : error;
    if (isRecord(error)) return [error.title, error.message].filter((s) => typeof s === 'string').join(': ');
    if (Array.isArray(json.errors)) {
      return json.errors
        .map((e) => (isRecord(e) ? [e.title, e.detail].filter((s) => typeof s === 'string').join(': ') : String(e)))
        .join('; ');
    }
    if (typeof description === 'string') return description;
  }
  return firstLine(body);
}

/** How Zendesk's error answers read; a 429 without Retry-After (per-user update limit) waits a minute. */
export const ZENDESK_ANSWERS: VendorAnswers = {
  vendor: 'Zendesk',
  refusedCredentials: 'rejected the credentials',
  summarize: summarizeZendeskBody,
  refine({ what, status, said, init }) {
    // 409 is a collision with a concurrent update: nothing was written, the next try usually passes.
    if (status === 409) return new DeliveryError(`${what}: conflicting concurrent update (409)${said}`, { ...init, kind: 'retry' });
    if (status === 422) return new DeliveryError(`${what}: Zendesk rejected it (422)${said}`, { ...init, kind: 'permanent' });
    return undefined;
  },
};

/** A 422 that says the ticket is closed: the message must go to a follow-up ticket. */
export function isClosedTicketError(err: unknown): boolean {
  if (!(err instanceof DeliveryError) || err.status !== 422) return false;
  const json = parseJson(err.detail);
  if (!isRecord(json) || !isRecord(json.details)) return false;
  const { status, base } = json.details;
  return detailLines({ status, base }).some((line) => /closed/i.test(line));
}

export function isNotFound(err: unknown): boolean {
  return err instanceof DeliveryError && err.status === 404;
}

/** Same Idempotency-Key, different body: Zendesk already handled a create under this key. */
export function isIdempotencyMismatch(err: unknown): boolean {
  if (!(err instanceof DeliveryError) || err.status !== 400) return false;
  const json = parseJson(err.detail);
  return isRecord(json) && json.error === 'IdempotentRequestError';
}

/** The field names a 422 RecordInvalid objects to. */
export function rejectedFields(err: unknown): string[] {
  if (!(err instanceof DeliveryError) || err.status !== 422) return [];
  const json = parseJson(err.detail);
  return isRecord(json) && isRecord(json.details) ? Object.keys(json.details) : [];
}
