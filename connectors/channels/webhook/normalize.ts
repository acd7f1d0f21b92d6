import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { AttachmentRef, InboundDraft } from '../../../src/core/message.ts';
import { redactDeep } from '../../../src/core/redact.ts';
import type { Mapping, ResolvedWebhook } from './options.ts';
import { describeCondition, holds, readTexts, render, type Source } from './paths.ts';

export type Mapped =
  | { draft: InboundDraft }
  | { dropped: string }
  | { error: string };

/** Applies drop conditions, the first matching case, and the mapping: one payload → one draft. */
export function mapPayload(cfg: ResolvedWebhook, src: Source, rawBody: Buffer, now = new Date()): Mapped {
  const drop = cfg.drop.find((c) => holds(src, c));
  if (drop) return { dropped: describeCondition(drop) };
  const chosen = cfg.cases.find((c) => c.when.every((w) => holds(src, w)));
  const mapping: Mapping = { ...cfg.mapping, ...chosen?.mapping };
  const value = (field: keyof Omit<Mapping, 'attachments'>) => render(src, mapping[field]);

  const phone = cleanPhone(value('phone'));
  const email = value('email');
  const senderId = value('senderId') ?? phone ?? email;
  if (senderId === undefined) {
    const tried = (['senderId', 'phone', 'email'] as const).filter((k) => mapping[k]).map((k) => `mapping.${k} (${show(mapping[k])})`);
    return { error: `nothing identifies the customer: ${tried.join(', ')} found no value in the payload` };
  }
  const event = value('event');
  const key = value('dedupeKey');
  if (mapping.dedupeKey && key === undefined) {
    return { error: `mapping.dedupeKey (${show(mapping.dedupeKey)}) found no value in the payload` };
  }
  const dedupeKey = key !== undefined
    ? (event !== undefined ? `${event}:${key}` : key)
    : `sha256:${createHash('sha256').update(rawBody).digest('hex').slice(0, 40)}`;
  const occurred = parseTime(value('occurredAt'));
  const subject = value('subject');
  const draft: InboundDraft = {
    kind: chosen?.kind ?? cfg.kind,
    externalId: dedupeKey,
    dedupeKey,
    conversation: { externalId: value('conversationId') ?? senderId, ...(subject ? { subject } : {}) },
    sender: stripEmpty({ externalId: senderId, phone, email, displayName: value('name'), playerId: value('playerId') }),
    text: value('text') ?? '',
    attachments: attachmentRefs(src, mapping.attachments ?? []),
    occurredAt: (occurred ?? now).toISOString(),
    raw: redactDeep(src.body),
    meta: stripEmpty({ event, path: src.path === '/' ? undefined : src.path }),
    ...((chosen?.private ?? cfg.private) ? { private: true } : {}),
  };
  return { draft };
}

function show(v: unknown): string {
  return Array.isArray(v) ? v.join(' | ') : String(v);
}

/** Formatting characters out, so one caller is one conversation however the PBX spaced the number. */
function cleanPhone(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  const cleaned = v.replace(/[\s().-]/g, '');
  return cleaned === '' ? undefined : cleaned;
}

/** ISO 8601, or a Unix time in seconds or milliseconds; anything else: unknown. */
export function parseTime(v: string | undefined): Date | undefined {
  if (v === undefined) return undefined;
  if (/^\d{9,10}(\.\d+)?$/.test(v)) return new Date(Number(v) * 1000);
  if (/^\d{12,13}$/.test(v)) return new Date(Number(v));
  if (!/^\d{4}-\d{2}-\d{2}T/.test(v)) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : new Date(t);
}

function attachmentRefs(src: Source, paths: string[]): AttachmentRef[] {
  const urls = [...new Set(paths.flatMap((p) => readTexts(src, p)))].filter((u) => /^https?:\/\//i.test(u));
  return urls.map((url, i) => {
    let base = '';
    try {
      base = decodeURIComponent(posix.basename(new URL(url).pathname));
    } catch {
      /* a name is a nicety */
    }
    return { name: base || `attachment-${i + 1}`, mime: mimeOf(base), source: url };
  });
}

const MIME: Record<string, string> = {
  mp3: 'audio/mpeg', wav: 'audio/wav', ogg: 'audio/ogg', m4a: 'audio/mp4', pdf: 'application/pdf',
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', txt: 'text/plain',
};

function mimeOf(name: string): string {
  const ext = name.includes('.') ? name.split('.').pop()!.toLowerCase() : '';
  return Object.hasOwn(MIME, ext) ? MIME[ext]! : 'application/octet-stream';
}

function stripEmpty<T extends Record<string, unknown>>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
