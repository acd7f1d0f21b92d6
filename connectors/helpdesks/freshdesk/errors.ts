import { DeliveryError } from '../../../src/core/errors.ts';
import { firstLine, isRecord, parseJson, type VendorAnswers } from '../../../src/kit/helpdesk-http/answer-errors.ts';

export interface FieldError {
  field: string;
  message: string;
  code: string;
  additional_info?: Record<string, unknown>;
}

/** The `errors[]` of a Freshdesk error body. */
export function fieldErrors(body: string | undefined): FieldError[] {
  const json = parseJson(body);
  if (!isRecord(json) || !Array.isArray(json.errors)) return [];
  return json.errors.filter(isRecord).map((e) => ({
    field: typeof e.field === 'string' ? e.field : '',
    message: typeof e.message === 'string' ? e.message : '',
    code: typeof e.code === 'string' ? e.code : '',
    additional_info: isRecord(e.additional_info) ? e.additional_info : undefined,
  }));
}

/** One line that says what Freshdesk objected to: `field: message (code)` for each error, or its message. */
export function summarizeFreshdeskBody(body: string): string {
  const errors = fieldErrors(body);
  if (errors.length > 0) return errors.map((e) => `${e.field ? `${e.field}: ` : ''}${e.message}${e.code ? ` (${e.code})` : ''}`).join('; ');
  const json = parseJson(body);
  if (isRecord(json)) {
    const parts = [json.code, json.message ?? json.description].filter((s): s is string => typeof s === 'string');
    if (parts.length > 0) return parts.join(': ');
  }
  return firstLine(body);
}

/** How Freshdesk's error answers read. */
export const FRESHDESK_ANSWERS: VendorAnswers = {
  vendor: 'Freshdesk',
  refusedCredentials: 'rejected the API key',
  summarize: summarizeFreshdeskBody,
  refine({ what, status, body, said, init }) {
    if (status === 404 && body.trim() === '') {
      // Freshdesk answers a wrong subdomain with an empty 404.
      return new DeliveryError(`${what}: no Freshdesk account answers at this address (404 without a body); check helpdesk.baseUrl`, { ...init, kind: 'permanent' });
    }
    if (status === 400 || status === 409) return new DeliveryError(`${what}: Freshdesk refused it (${status})${said}`, { ...init, kind: 'permanent' });
    return undefined;
  },
};

export const isNotFound = (err: unknown): boolean => err instanceof DeliveryError && err.status === 404;

/** A 409/400 `duplicate_value` on a contact field: the contact exists, maybe with its id. */
export function duplicateOf(err: unknown): { field: string; userId?: number } | undefined {
  if (!(err instanceof DeliveryError) || (err.status !== 409 && err.status !== 400)) return undefined;
  const dup = fieldErrors(err.detail).find((e) => e.code === 'duplicate_value');
  if (!dup) return undefined;
  const userId = dup.additional_info?.user_id;
  return { field: dup.field, userId: typeof userId === 'number' ? userId : undefined };
}

/** A 400 naming `field`, e.g. a `user_id` of a contact that was merged away. */
export function refusesField(err: unknown, field: string): boolean {
  return err instanceof DeliveryError && err.status === 400 && fieldErrors(err.detail).some((e) => e.field === field);
}
