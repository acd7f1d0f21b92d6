import { z } from 'zod';
import { quickParser } from './quick-parse.ts';

/**
 * The normalized message: what every channel turns its payload into, and the only
 * shape the rules engine, the queue and the helpdesk connectors ever see.
 * Its JSON Schema is published (`switchboard schema --message`) for adapters written elsewhere.
 */

export const MessageKind = z.enum(['message', 'edit', 'call', 'voicemail', 'form', 'event']);
export type MessageKind = z.infer<typeof MessageKind>;

/** A reference the channel resolves at delivery time: bytes never travel through the queue. */
export const AttachmentRef = z.object({
  name: z.string().min(1),
  mime: z.string().min(1),
  size: z.number().int().nonnegative().optional(),
  /** Opaque to everyone but the channel that produced it (a Telegram file_id, a stored upload key, a URL). */
  source: z.string().min(1),
  /** Set when the channel already knows it cannot fetch the file (e.g. over the Bot API's 20 MB). */
  unavailable: z.string().optional(),
});
export type AttachmentRef = z.infer<typeof AttachmentRef>;

/**
 * Identifiers and contact fields have lengths no channel sends (a Message-ID fits one 998-character
 * header line; E.164 has 15 digits): a megabyte in one of them is a wrong shape, refused at accept
 * with the field named, before it becomes a queue lane's key or a helpdesk requester.
 */
const Id = z.string().min(1).max(1000);
const Name = z.string().max(1000);

export const Sender = z.object({
  externalId: Id,
  displayName: Name.optional(),
  username: Name.optional(),
  phone: z.string().max(64).optional(),
  email: z.string().max(320).optional(),
  locale: z.string().max(64).optional(),
  playerId: Name.optional(),
  /**
   * The channel checked that the sender holds `email`: their mail answers one the gateway sent to
   * that very address (its Message-ID in In-Reply-To/References, from the address it went to).
   */
  addressVerified: z.boolean().optional(),
});
export type Sender = z.infer<typeof Sender>;

export const Call = z.object({
  direction: z.enum(['inbound', 'outbound']),
  from: z.string(),
  to: z.string(),
  status: z.string(),
  durationSec: z.number().nonnegative().optional(),
  agent: z.string().optional(),
  recordingRef: z.string().optional(),
  transcript: z.string().optional(),
});

export const NormalizedMessage = z.object({
  /** ULID, assigned at accept time. */
  id: z.string().min(1),
  channel: z.object({ id: z.string().min(1), kind: z.string().min(1) }),
  kind: MessageKind,
  /** The channel's own id for this message. */
  externalId: Id,
  /** The natural idempotency key: a redelivery with the same key is a no-op. */
  dedupeKey: Id,
  conversation: z.object({
    externalId: Id,
    threadRefs: z.array(z.string().max(1000)).optional(),
    subject: z.string().optional(),
  }),
  sender: Sender,
  /**
   * The customer's player id as the gateway knows it when it routes the message: the one the
   * channel vouched for (`sender.playerId`) or the one the sender's identity was linked to before
   * (docs/identity.md). Filled in by the gateway before the rules run; adapters set `sender.playerId`.
   */
  playerId: z.string().optional(),
  text: z.string(),
  html: z.string().optional(),
  attachments: z.array(AttachmentRef).default([]),
  call: Call.optional(),
  form: z.object({ formId: z.string(), fields: z.record(z.string(), z.string()) }).optional(),
  /**
   * For the agents only, not the customer's words (a call log, a CRM event): written as a private
   * note on the conversation's ticket (opening one when none is linked), and never auto-replied to.
   */
  private: z.boolean().optional(),
  occurredAt: z.string(),
  receivedAt: z.string(),
  /**
   * The id of an option the customer picked from a question the gateway asked (a button, a list
   * row, a template quick reply); see `ReplyToSend.choices`.
   */
  choice: z.string().max(256).optional(),
  /** The channel payload, redacted; kept so an admin can see what arrived. */
  raw: z.unknown().optional(),
  /** Channel extras; `batchKey` groups consecutive messages into one delivery (Telegram albums). */
  meta: z.record(z.string(), z.unknown()).default({}),
});
export type NormalizedMessage = z.infer<typeof NormalizedMessage>;
/** NormalizedMessage.safeParse with a quick path for messages that are already right (every accept). */
export const NormalizedMessageParser = quickParser(NormalizedMessage);
export type NormalizedMessageInput = z.input<typeof NormalizedMessage>;

/** A message before the gateway gave it an id and a receive time. */
export type InboundDraft = Omit<NormalizedMessageInput, 'id' | 'receivedAt' | 'channel'>;

export function messageJsonSchema(): unknown {
  return z.toJSONSchema(NormalizedMessage, { io: 'input' });
}

/** An agent's answer on its way back to a customer. */
export const OutboundReply = z.object({
  ticketId: z.string(),
  commentId: z.string(),
  text: z.string(),
  html: z.string().optional(),
  attachments: z
    .array(z.object({ name: z.string(), mime: z.string(), url: z.string(), size: z.number().optional() }))
    .default([]),
  author: z.string().optional(),
});
export type OutboundReply = z.infer<typeof OutboundReply>;
