import { z } from 'zod';
import type { Conversation, FetchedFile, KeyValueStore, ReplyToSend, SendResult } from '../../../src/core/connector.ts';
import { DeliveryError } from '../../../src/core/errors.ts';
import { splitText } from '../../../src/kit/outbound/split-text.ts';
import { SentParts } from '../../../src/kit/outbound/sent-parts.ts';
import { isReengagementError } from './errors.ts';
import type { GraphApi } from './graph.ts';
import { formatBytes } from '../../../src/core/format-bytes.ts';
import { uploadMedia } from './media.ts';
import type { TemplateOptions } from './options.ts';
import { recordSent } from './sent-index.ts';
import { describeLastInbound, windowState, type WindowState } from './window.ts';

/** The Cloud API's limit for a text message body. */
export const TEXT_LIMIT = 4096;
/** Kept well under the template body's 1024-character limit, which includes the template's own words. */
export const TEMPLATE_PARAMETER_LIMIT = 900;

type MediaType = 'image' | 'video' | 'audio' | 'document';

/** Meta's size limits per media type and the MIME types each type takes. */
const MEDIA_RULES: { type: MediaType; mimes: Set<string>; max: number }[] = [
  { type: 'image', mimes: new Set(['image/jpeg', 'image/png']), max: 5 * 1024 * 1024 },
  { type: 'video', mimes: new Set(['video/mp4', 'video/3gpp']), max: 16 * 1024 * 1024 },
  { type: 'audio', mimes: new Set(['audio/aac', 'audio/amr', 'audio/mpeg', 'audio/mp4', 'audio/ogg']), max: 16 * 1024 * 1024 },
];
export const DOCUMENT_LIMIT = 100 * 1024 * 1024;

export type Part =
  | { kind: 'text'; text: string }
  | { kind: 'media'; type: MediaType; file: FetchedFile }
  | { kind: 'template'; template: TemplateOptions; parameter?: string };

export interface Plan {
  parts: Part[];
  notes: string[];
}

/** Which message type carries a file: its own type when Meta takes it, else a document. */
export function mediaTypeOf(file: FetchedFile): MediaType | undefined {
  const mime = (file.mime.split(';')[0] ?? '').trim().toLowerCase();
  const size = file.data.length;
  const rule = MEDIA_RULES.find((r) => r.mimes.has(mime));
  if (rule && size <= rule.max) return rule.type;
  return size <= DOCUMENT_LIMIT ? 'document' : undefined;
}

/**
 * Inside the window: the text as messages of at most 4096 characters, then each file uploaded
 * to Meta. Outside it: the configured template, or nothing, and a note saying so either way.
 */
export function planReply(reply: Pick<ReplyToSend, 'text' | 'files'>, window: WindowState, template: TemplateOptions | undefined, now: Date): Plan {
  if (!window.open) return planOutsideWindow(reply, window, template, now);
  const notes: string[] = [];
  const parts: Part[] = splitText(reply.text, TEXT_LIMIT).map((text) => ({ kind: 'text', text }));
  for (const file of reply.files) {
    const type = mediaTypeOf(file);
    if (type) parts.push({ kind: 'media', type, file });
    else notes.push(`"${file.name}" (${formatBytes(file.data.length)}) was not sent: WhatsApp takes files up to ${formatBytes(DOCUMENT_LIMIT)}.`);
  }
  return { parts, notes };
}

function planOutsideWindow(reply: Pick<ReplyToSend, 'text' | 'files'>, window: WindowState, template: TemplateOptions | undefined, now: Date): Plan {
  const why = `${describeLastInbound(window, now)}, outside WhatsApp's 24-hour customer-service window, where only approved templates may be sent`;
  const files = reply.files.length > 0 ? ` The attached files (${reply.files.map((f) => f.name).join(', ')}) were not sent either.` : '';
  if (!template) {
    return {
      parts: [],
      notes: [`This reply was NOT sent: ${why}, and no template is configured for this channel (template: in its config). Answer again once the customer writes back.${files}`],
    };
  }
  if (!template.replyParameter) {
    return {
      parts: [{ kind: 'template', template }],
      notes: [`This reply was NOT sent: ${why}. The customer got the template "${template.name}" (${template.language}) instead; send the reply again once they write back.${files}`],
    };
  }
  const { text, shortened } = templateParameter(reply.text || reply.files.map((f) => f.name).join(', '));
  const cut = shortened ? ` Its text was shortened to ${TEMPLATE_PARAMETER_LIMIT} characters (the template's limit).` : '';
  return {
    parts: [{ kind: 'template', template, parameter: text }],
    notes: [`The reply was sent as the approved template "${template.name}" (${template.language}), because ${why}.${cut}${files}`],
  };
}

/** Meta refuses template parameters with line breaks, tabs or more than four spaces in a row. */
export function templateParameter(text: string): { text: string; shortened: boolean } {
  const flat = text.replace(/\s+/g, (ws) => (/[\r\n\t]/.test(ws) ? ' ' : ws)).replace(/ {4,}/g, '   ').trim();
  if (flat.length <= TEMPLATE_PARAMETER_LIMIT) return { text: flat || '-', shortened: false };
  return { text: `${flat.slice(0, TEMPLATE_PARAMETER_LIMIT - 1).trimEnd()}…`, shortened: true };
}

export interface SendDeps {
  api: GraphApi;
  kv: KeyValueStore;
  phoneNumberId: string;
  template?: TemplateOptions;
  now?: () => Date;
}

/**
 * Sends a reply part by part. Each part sent is recorded under the reply id before the next
 * one goes, so a retry sends only what is missing; each wamid is indexed so a later `failed`
 * status finds its conversation. When Meta says the window is closed (131047) although we
 * thought it open, the reply is handled as outside the window.
 */
export async function sendReply(deps: SendDeps, to: Conversation, reply: ReplyToSend): Promise<SendResult> {
  const now = (deps.now ?? (() => new Date()))();
  const window = windowState(to.meta?.['lastInboundAt'], now);
  const plan = planReply(reply, window, deps.template, now);
  const sent = await SentParts.open(deps.kv, `sent:${reply.replyId}`, z.string());
  const externalIds: string[] = [];

  const sendPart = async (part: Part, index: number) => {
    const wamid = await sent.once(index, contentOf(part), async () => {
      const id = await callPart(deps, to.externalId, part, reply.replyId);
      // Indexed before it counts as sent, so a later `failed` status always finds its conversation.
      await recordSent(deps.kv, id, { conversation: to.externalId, replyId: reply.replyId, excerpt: excerptOf(part) });
      return id;
    });
    externalIds.push(wamid);
  };

  for (const [index, part] of plan.parts.entries()) {
    try {
      await sendPart(part, index);
    } catch (err) {
      if (!isReengagementError(err) || part.kind === 'template') throw err;
      // Meta's clock says the window is closed: do what a closed window does, for the whole reply.
      const closed = planReply(reply, { open: false, lastInboundAt: window.lastInboundAt }, deps.template, now);
      for (const [i, p] of closed.parts.entries()) await sendPart(p, plan.parts.length + i);
      const said = 'WhatsApp refused a free-form message (131047: more than 24 hours since the customer last wrote).';
      return { externalIds, notes: [said, ...closed.notes] };
    }
  }
  return plan.notes.length > 0 ? { externalIds, notes: plan.notes } : { externalIds };
}

const SendAnswer = z.looseObject({ messages: z.array(z.looseObject({ id: z.string().min(1) })).min(1) });

async function callPart(deps: SendDeps, to: string, part: Part, replyId: string): Promise<string> {
  const base = { messaging_product: 'whatsapp', recipient_type: 'individual', to, biz_opaque_callback_data: replyId.slice(0, 512) };
  let body: Record<string, unknown>;
  let what: string;
  if (part.kind === 'text') {
    what = `text message to ${to}`;
    body = { ...base, type: 'text', text: { body: part.text, preview_url: false } };
  } else if (part.kind === 'media') {
    const id = await uploadMedia(deps.api, deps.phoneNumberId, part.file);
    what = `${part.type} "${part.file.name}" to ${to}`;
    const media: Record<string, unknown> = { id };
    if (part.type === 'document') media.filename = part.file.name;
    body = { ...base, type: part.type, [part.type]: media };
  } else {
    what = `template "${part.template.name}" to ${to}`;
    const template: Record<string, unknown> = { name: part.template.name, language: { code: part.template.language } };
    if (part.parameter !== undefined) template.components = [{ type: 'body', parameters: [{ type: 'text', text: part.parameter }] }];
    body = { ...base, type: 'template', template };
  }
  const answer = SendAnswer.safeParse(await deps.api.postJson(what, `${deps.phoneNumberId}/messages`, body));
  if (!answer.success) {
    throw new DeliveryError(`${what}: the Graph API answer has no message id`, { kind: 'retry', ambiguous: true, detail: JSON.stringify(answer.error.issues) });
  }
  return answer.data.messages[0]!.id;
}

function excerptOf(part: Part): string {
  const text = part.kind === 'text' ? part.text : part.kind === 'media' ? `[${part.type}: ${part.file.name}]` : `[template ${part.template.name}] ${part.parameter ?? ''}`;
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 80 ? `${flat.slice(0, 79)}…` : flat;
}

/** What a recorded part is tied to, so a changed reply never skips a part it did not send. */
function contentOf(part: Part): (string | Buffer)[] {
  if (part.kind === 'text') return [part.kind, part.text];
  if (part.kind === 'media') return [part.kind, part.type, part.file.name, part.file.data];
  return [part.kind, part.template.name, part.template.language, part.parameter ?? ''];
}
