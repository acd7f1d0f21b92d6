import { createHash } from 'node:crypto';
import { ulid } from 'ulid';
import type { KeyValueStore, UploadedFile } from '../../../src/core/connector.ts';
import { SUBMISSION_ID_FIELD } from './options.ts';

/**
 * The submission id is the form's natural idempotency key: supplied by the page (a field or an
 * `Idempotency-Key` header) so that a resubmit is recognised, or a fresh ULID (no dedupe).
 */

const SUBMISSION_ID = /^[A-Za-z0-9_-]{8,128}$/;
const FORMAT = 'must be 8–128 characters of A-Z, a-z, 0-9, _ or -';

export type SubmissionIdResult =
  /** `field` names where the id came from, for error messages. */
  | { ok: true; id: string; supplied: boolean; field: string }
  | { ok: false; field: string; error: string };

export function submissionIdOf(fields: Record<string, unknown>, idempotencyKey: string | undefined): SubmissionIdResult {
  const raw = Object.hasOwn(fields, SUBMISSION_ID_FIELD) ? fields[SUBMISSION_ID_FIELD] : undefined;
  const fromBody = raw === null ? undefined : typeof raw === 'string' || typeof raw === 'number' ? String(raw).trim() : raw;
  const fromHeader = idempotencyKey?.trim();
  if (fromBody !== undefined && fromBody !== '') {
    if (typeof fromBody !== 'string' || !SUBMISSION_ID.test(fromBody)) return { ok: false, field: SUBMISSION_ID_FIELD, error: FORMAT };
    if (fromHeader && fromHeader !== fromBody) {
      return { ok: false, field: SUBMISSION_ID_FIELD, error: 'differs from the Idempotency-Key header; send one id' };
    }
    return { ok: true, id: fromBody, supplied: true, field: SUBMISSION_ID_FIELD };
  }
  if (fromHeader) {
    return SUBMISSION_ID.test(fromHeader)
      ? { ok: true, id: fromHeader, supplied: true, field: 'Idempotency-Key' }
      : { ok: false, field: 'Idempotency-Key', error: FORMAT };
  }
  return { ok: true, id: ulid(), supplied: false, field: SUBMISSION_ID_FIELD };
}

/** What was submitted, as a digest: the same id sent with other content is a client bug, not a resubmit. */
export function fingerprint(values: Record<string, string>, files: UploadedFile[]): string {
  const digest = (data: Buffer) => createHash('sha256').update(data).digest('hex');
  const canonical = JSON.stringify([
    Object.entries(values).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    files.map((f) => [f.field, f.filename, f.mime, digest(f.data)]),
  ]);
  return createHash('sha256').update(canonical).digest('hex');
}

export interface AcceptedSubmission {
  /** The gateway message id, answered again on a resubmit. */
  messageId: string;
  fingerprint: string;
}

/** Remembers accepted submissions so a resubmit is answered without verifying its captcha again. */
export class SubmissionLedger {
  readonly #kv: KeyValueStore;
  readonly #prefix: string;

  constructor(kv: KeyValueStore, channelId: string) {
    this.#kv = kv;
    this.#prefix = `webform:${channelId}:submission:`;
  }

  async find(submissionId: string): Promise<AcceptedSubmission | undefined> {
    const stored = await this.#kv.get(this.#prefix + submissionId);
    if (stored === undefined) return undefined;
    try {
      const parsed: unknown = JSON.parse(stored);
      if (typeof parsed === 'object' && parsed !== null && 'messageId' in parsed && 'fingerprint' in parsed &&
        typeof parsed.messageId === 'string' && typeof parsed.fingerprint === 'string') {
        return { messageId: parsed.messageId, fingerprint: parsed.fingerprint };
      }
    } catch {
      // An unreadable record is treated as absent: accept() still dedupes on the key.
    }
    return undefined;
  }

  async remember(submissionId: string, entry: AcceptedSubmission): Promise<void> {
    await this.#kv.set(this.#prefix + submissionId, JSON.stringify(entry), { keep: 'inbound' });
  }
}
