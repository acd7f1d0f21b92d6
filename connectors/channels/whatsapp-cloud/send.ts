import { z } from 'zod';
import type { Choices, Conversation, FetchedFile, KeyValueStore, ReplyToSend, SendResult } from '../../../src/core/connector.ts';
import { DeliveryError } from '../../../src/core/errors.ts';
import { splitText } from '../../../src/kit/outbound/split-text.ts';
import { SentParts } from '../../../src/kit/outbound/sent-parts.ts';
import { isReengagementError } from './errors.ts';
import type { GraphApi } from './graph.ts';
import { formatBytes } from '../../../src/core/format-bytes.ts';
import { uploadMedia } from './media.ts';
import type { QuestionTemplateOptions, TemplateOptions } from './options.ts';
import { metaClosedAt, recordMetaClosed, recordSent } from './sent-index.ts';
import { describeClosedWindow, windowState, type WindowState } from './window.ts';

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

/** Meta's limits for a list message: body, button caption, row title, rows. */
export const LIST_LIMITS = { body: 1024, button: 20, rowTitle: 24, rows: 10 } as const;

export type Part =
  | { kind: 'text'; text: string }
  | { kind: 'media'; type: MediaType; file: FetchedFile }
  | { kind: 'list'; body: string; choices: Choices }
  | { kind: 'template'; template: TemplateOptions; parameter?: string; quickReplies?: string[] };

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
  const why = describeClosedWindow(window, now);
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

/**
 * A question with choices. Inside the window: one list message (reply buttons stop at three; a
 * list takes up to ten rows, so five ratings fit in one message). Outside it: the approved
 * question template, whose quick-reply buttons carry the choices' ids as payloads, in order.
 */
export function planQuestion(reply: Pick<ReplyToSend, 'text'> & { choices: Choices }, window: WindowState, template: QuestionTemplateOptions | undefined, now: Date): Plan {
  const { choices } = reply;
  if (choices.options.length > LIST_LIMITS.rows) {
    return { parts: [], notes: [`The question was NOT sent: WhatsApp lists take at most ${LIST_LIMITS.rows} choices, it had ${choices.options.length}.`] };
  }
  if (window.open) return { parts: [{ kind: 'list', body: reply.text.slice(0, LIST_LIMITS.body), choices }], notes: [] };
  const why = describeClosedWindow(window, now);
  if (!template) {
    return { parts: [], notes: [`The question was NOT sent: ${why}, and no questionTemplate is configured for this channel.`] };
  }
  const language = template.languages[choices.language as keyof typeof template.languages] ?? Object.values(template.languages).find((l) => l !== undefined)!;
  return {
    parts: [{ kind: 'template', template: { name: template.name, language, replyParameter: false }, quickReplies: choices.options.map((o) => o.id) }],
    notes: [`The question went as the approved template "${template.name}" (${language}), because ${why}.`],
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
  questionTemplate?: QuestionTemplateOptions;
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
  const window = windowState(to.meta?.['lastInboundAt'], now, await metaClosedAt(deps.kv, to.externalId));
  const planFor = (w: WindowState): Plan => (reply.choices ? planQuestion({ text: reply.text, choices: reply.choices }, w, deps.questionTemplate, now) : planReply(reply, w, deps.template, now));
  const plan = planFor(window);
  const sent = await SentParts.open(deps.kv, `sent:${reply.replyId}`, z.string());
  const externalIds: string[] = [];

  const sendPart = async (part: Part, index: number) => {
    const wamid = await sent.once(index, contentOf(part), async () => {
      const id = await callPart(deps, to.externalId, part, reply.replyId);
      // Indexed before it counts as sent, so a later `failed` status always finds its conversation,
      // and, for a free-form part, what to send as the template if Meta reports 131047 then.
      await recordSent(deps.kv, id, {
        conversation: to.externalId,
        replyId: reply.replyId,
        excerpt: excerptOf(part),
        ...(part.kind === 'template' ? { template: true } : { text: templateParameter(reply.text || reply.files.map((f) => f.name).join(', ')).text }),
      });
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
      await recordMetaClosed(deps.kv, to.externalId, now);
      const closed = planFor({ open: false, closedByMeta: true, lastInboundAt: window.lastInboundAt });
      for (const [i, p] of closed.parts.entries()) await sendPart(p, plan.parts.length + i);
      return { externalIds, notes: closed.notes };
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
  } else if (part.kind === 'list') {
    what = `list message to ${to}`;
    const menu = part.choices.menu.slice(0, LIST_LIMITS.button);
    const rows = part.choices.options.map((o) => ({ id: o.id, title: o.label.slice(0, LIST_LIMITS.rowTitle) }));
    body = { ...base, type: 'interactive', interactive: { type: 'list', body: { text: part.body }, action: { button: menu, sections: [{ title: menu, rows }] } } };
  } else if (part.kind === 'media') {
    const id = await uploadMedia(deps.api, deps.phoneNumberId, part.file);
    what = `${part.type} "${part.file.name}" to ${to}`;
    const media: Record<string, unknown> = { id };
    if (part.type === 'document') media.filename = part.file.name;
    body = { ...base, type: part.type, [part.type]: media };
  } else {
    what = `template "${part.template.name}" to ${to}`;
    const template: Record<string, unknown> = { name: part.template.name, language: { code: part.template.language } };
    const components: Record<string, unknown>[] = [];
    if (part.parameter !== undefined) components.push({ type: 'body', parameters: [{ type: 'text', text: part.parameter }] });
    part.quickReplies?.forEach((payload, index) => {
      components.push({ type: 'button', sub_type: 'quick_reply', index: String(index), parameters: [{ type: 'payload', payload }] });
    });
    if (components.length > 0) template.components = components;
    body = { ...base, type: 'template', template };
  }
  const answer = SendAnswer.safeParse(await deps.api.postJson(what, `${deps.phoneNumberId}/messages`, body));
  if (!answer.success) {
    throw new DeliveryError(`${what}: the Graph API answer has no message id`, { kind: 'retry', ambiguous: true, detail: JSON.stringify(answer.error.issues) });
  }
  return answer.data.messages[0]!.id;
}

function excerptOf(part: Part): string {
  const text = part.kind === 'text' || part.kind === 'list' ? (part.kind === 'text' ? part.text : part.body)
    : part.kind === 'media' ? `[${part.type}: ${part.file.name}]` : `[template ${part.template.name}] ${part.parameter ?? ''}`;
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 80 ? `${flat.slice(0, 79)}…` : flat;
}

/** What a recorded part is tied to, so a changed reply never skips a part it did not send. */
function contentOf(part: Part): (string | Buffer)[] {
  if (part.kind === 'text') return [part.kind, part.text];
  if (part.kind === 'media') return [part.kind, part.type, part.file.name, part.file.data];
  if (part.kind === 'list') return [part.kind, part.body, JSON.stringify(part.choices.options)];
  return [part.kind, part.template.name, part.template.language, part.parameter ?? '', ...(part.quickReplies ?? [])];
}
