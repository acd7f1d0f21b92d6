import { createHash } from 'node:crypto';
import { simpleParser, type AddressObject, type Attachment, type ParsedMail } from 'mailparser';
import { htmlToPlainText } from '../../../src/kit/html-text.ts';

/**
 * The parts of an email the channel works with, read once by mailparser. Header values are
 * taken from the raw header lines (unfolded), because mailparser turns some of them (Return-Path,
 * List-*) into structures that hide what was actually written.
 */
export interface Email {
  messageId?: string;
  inReplyTo?: string;
  /** Oldest first, as in the header. */
  references: string[];
  date?: Date;
  subject: string;
  from?: Mailbox;
  replyTo?: Mailbox;
  /** Plain text: the text part, or the HTML part converted to readable text; without the `-- ` signature. */
  text: string;
  html?: string;
  attachments: Attachment[];
  /** Lower-case header name → raw values, in order. */
  headers: Map<string, string[]>;
  /** A short stable digest of the raw bytes: the identity of a mail without a Message-ID. */
  digest: string;
}

export interface Mailbox {
  address: string;
  name?: string;
}

export async function parseEmail(source: Buffer): Promise<Email> {
  try {
    return await readEmail(source);
  } catch (err) {
    return unreadableEmail(source, err);
  }
}

async function readEmail(source: Buffer): Promise<Email> {
  // keepCidLinks: inline images stay attachments instead of being copied into the HTML as data: URIs.
  // skipHtmlToText: mailparser's own conversion wraps lines at 80 columns; HTML-only mail is
  // converted below without a wrap.
  const mail = await simpleParser(source, { keepCidLinks: true, skipTextToHtml: true, skipTextLinks: true, skipHtmlToText: true });
  const html = typeof mail.html === 'string' && mail.html.length > 0 ? mail.html : undefined;
  const text = mail.text?.trim() ? mail.text : html ? htmlToPlainText(html) : '';
  return {
    messageId: cleanId(mail.messageId),
    inReplyTo: cleanId(mail.inReplyTo),
    references: ([] as string[]).concat(mail.references ?? []).map(cleanId).filter((r): r is string => r !== undefined),
    date: mail.date && !Number.isNaN(mail.date.getTime()) ? mail.date : undefined,
    subject: (mail.subject ?? '').trim(),
    from: firstMailbox(mail.from),
    replyTo: firstMailbox(mail.replyTo),
    text: normalizeText(withoutSignature(text)),
    html,
    attachments: mail.attachments,
    headers: rawHeaders(mail),
    digest: digestOf(source),
  };
}

/**
 * The text above the signature separator (`-- ` alone on a line, RFC 3676 §4.3): a signature says
 * who wrote, which the ticket's requester already says. Quoted lines (`> -- `) are not separators;
 * a mail that is nothing but a signature keeps it.
 */
export function withoutSignature(text: string): string {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const at = lines.findIndex((l) => l === '-- ');
  if (at <= 0) return text;
  const above = lines.slice(0, at).join('\n');
  return above.trim() ? above : text;
}

export function header(email: Pick<Email, 'headers'>, name: string): string | undefined {
  return email.headers.get(name.toLowerCase())?.[0];
}

/** Message-IDs in their `<…>` form (left@right), or undefined for anything that is not one. */
export function cleanId(id: string | undefined): string | undefined {
  const trimmed = id?.trim();
  if (!trimmed) return undefined;
  const inner = trimmed.replace(/^<|>$/g, '').trim();
  return /^[^\s<>@]+@[^\s<>@]+$/.test(inner) ? `<${inner}>` : undefined;
}

/**
 * A mail mailparser could not read still reaches the agents: as an explanation and the raw
 * message attached, rather than blocking the mailbox behind it.
 */
export function unreadableEmail(source: Buffer, err: unknown): Email {
  const reason = err instanceof Error ? err.message : String(err);
  return {
    references: [],
    subject: '',
    text: `Switchboard could not read this email (${reason}); the original is attached as original.eml.`,
    attachments: [{
      type: 'attachment',
      content: source,
      contentType: 'message/rfc822',
      filename: 'original.eml',
      headers: new Map(),
      headerLines: [],
      checksum: '',
      size: source.length,
      related: false,
    }],
    headers: new Map(),
    digest: digestOf(source),
  };
}

function digestOf(source: Buffer): string {
  return createHash('sha256').update(source).digest('hex').slice(0, 32);
}

function firstMailbox(obj: AddressObject | undefined): Mailbox | undefined {
  for (const a of obj?.value ?? []) {
    const address = a.address?.trim();
    if (address) return a.name?.trim() ? { address, name: a.name.trim() } : { address };
  }
  return undefined;
}

function rawHeaders(mail: ParsedMail): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const { key, line } of mail.headerLines) {
    const colon = line.indexOf(':');
    const value = (colon === -1 ? '' : line.slice(colon + 1)).replace(/\r?\n[ \t]+/g, ' ').trim();
    const name = key.toLowerCase();
    out.set(name, [...(out.get(name) ?? []), value]);
  }
  return out;
}

export function normalizeText(text: string): string {
  // Inline images are attachments; their placeholders in the converted HTML say nothing.
  return text.replace(/\r\n?/g, '\n').replace(/\[cid:[^\]\s]+\]/g, '').split('\n').map(trimEndSpaces).join('\n').replace(/\n{3,}/g, '\n\n').trim();
}

/** Trailing spaces and tabs off one line; `/[ \t]+$/gm` would read a long run of spaces once per space. */
function trimEndSpaces(line: string): string {
  let end = line.length;
  while (end > 0 && (line[end - 1] === ' ' || line[end - 1] === '\t')) end -= 1;
  return line.slice(0, end);
}
