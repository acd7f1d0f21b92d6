import type { AttachmentRef, InboundDraft, Sender } from '../../../src/core/message.ts';
import { normalizePhone } from './fields.ts';
import type { FieldSpec, ResolvedMapping } from './options.ts';

/** Turns a checked submission into the normalized message: each submission is its own conversation. */

export interface Submission {
  formId: string;
  submissionId: string;
  /** Declared fields that were filled in, already checked. */
  values: Record<string, string>;
  specs: Record<string, FieldSpec>;
  mapping: ResolvedMapping;
  attachments: AttachmentRef[];
  locale?: string;
  meta: Record<string, unknown>;
  raw: unknown;
  receivedAt: Date;
}

export function formDraft(s: Submission): InboundDraft {
  const subject = pick(s.values, s.mapping.subject);
  return {
    kind: 'form',
    externalId: s.submissionId,
    dedupeKey: s.submissionId,
    conversation: { externalId: s.submissionId, ...(subject ? { subject } : {}) },
    sender: senderOf(s),
    text: pick(s.values, s.mapping.text) ?? summary(s.values, s.specs),
    attachments: s.attachments,
    form: { formId: s.formId, fields: s.values },
    occurredAt: s.receivedAt.toISOString(),
    raw: s.raw,
    meta: s.meta,
  };
}

function senderOf(s: Submission): Sender {
  const email = pick(s.values, s.mapping.email);
  const phoneText = pick(s.values, s.mapping.phone);
  const phone = phoneText === undefined ? undefined : normalizePhone(phoneText);
  const sender: Sender = { externalId: email?.toLowerCase() ?? phone ?? `anon:${s.submissionId}` };
  const optional = {
    email,
    phone,
    displayName: pick(s.values, s.mapping.name),
    playerId: pick(s.values, s.mapping.playerId),
    locale: s.locale,
  };
  for (const [key, value] of Object.entries(optional)) {
    if (value !== undefined) sender[key as keyof typeof optional] = value;
  }
  return sender;
}

/** A form without a message field still gives the agent something to read. */
function summary(values: Record<string, string>, specs: Record<string, FieldSpec>): string {
  return Object.entries(values)
    .map(([name, value]) => `${specs[name]?.label ?? name}: ${value}`)
    .join('\n');
}

function pick(values: Record<string, string>, name: string | undefined): string | undefined {
  return name === undefined ? undefined : values[name];
}
