import { z } from 'zod';
import { MessageKind } from '../../../src/core/message.ts';
import { WEBHOOK_AUTH_SECRETS, WebhookAuth } from './vendor-auth.ts';
import { Condition, MappingValue } from './paths.ts';
import { PRESETS } from './presets.ts';

/** The generic webhook channel's options: any vendor's JSON or form body, mapped from YAML. */

export const Mapping = z.strictObject({
  text: MappingValue.optional().describe('the message text, e.g. message.text or "Missed call from {{from}}"'),
  senderId: MappingValue.optional().describe("the customer's id at the vendor (default: phone, then email)"),
  phone: MappingValue.optional().describe("the customer's phone number"),
  email: MappingValue.optional().describe("the customer's email"),
  name: MappingValue.optional().describe("the customer's display name"),
  playerId: MappingValue.optional().describe("the customer's player/account id"),
  conversationId: MappingValue.optional()
    .describe('what groups events into one ticket (default: the sender id)'),
  dedupeKey: MappingValue.optional()
    .describe("the vendor's unique event id; a repeat is ignored (default: a hash of the body)"),
  event: MappingValue.optional().describe("the vendor's event type (part of the dedupe key; usable in conditions)"),
  subject: MappingValue.optional().describe('the ticket subject'),
  occurredAt: MappingValue.optional().describe('when it happened: ISO 8601, or Unix seconds/milliseconds'),
  attachments: z.array(z.string().min(1)).optional()
    .describe('field paths of file URLs fetched at delivery time, e.g. [files[].url, recording_url]'),
});
export type Mapping = z.infer<typeof Mapping>;

export const Case = z.strictObject({
  when: z.array(Condition).default([]).describe('all must hold; empty: always'),
  kind: MessageKind.optional().describe('message kind for these events'),
  private: z.boolean().optional().describe('true: a private note on the customer\'s ticket (e.g. an answered call), not their message'),
  mapping: Mapping.optional().describe('mapping fields that replace the base mapping for these events'),
});
export type Case = z.infer<typeof Case>;

const Fields = {
  preset: z.enum(Object.keys(PRESETS) as [keyof typeof PRESETS, ...(keyof typeof PRESETS)[]]).optional()
    .describe('start from a known vendor format: mango (Mango Office VPBX) or zadarma; every option below overrides it'),
  auth: WebhookAuth.describe('how the sender proves who it is: hmac, header, basic, query, mango or zadarma'),
  format: z.enum(['auto', 'json', 'form']).optional()
    .describe('body format (auto: by Content-Type)'),
  jsonField: z.string().regex(/^[A-Za-z0-9_.-]{1,100}$/).optional()
    .describe('the JSON document comes as a string in this form field (Mango Office: json)'),
  mapping: Mapping.optional().describe('where each part of the message is in the payload'),
  kind: MessageKind.optional().describe('message kind (default message): message, call, voicemail, form, event'),
  private: z.boolean().optional().describe('every event is a private note for the agents (default false)'),
  drop: z.array(Condition).optional()
    .describe('events to acknowledge and ignore: dropped when ANY of these holds'),
  cases: z.array(Case).optional().describe('the first case whose conditions all hold sets kind, private and mapping overrides'),
  echo: z.strictObject({
    param: z.string().regex(/^[A-Za-z0-9_-]{1,50}$/).describe('query parameter whose value a GET answers verbatim (Zadarma: zd_echo)'),
  }).optional().describe('URL ownership check by echo'),
  response: z.strictObject({
    status: z.number().int().min(200).max(299).default(200),
    body: z.union([z.string(), z.record(z.string(), z.unknown())]).optional().describe('default {"ok":true}'),
  }).optional().describe('what the sender gets back once the event is stored'),
  attachments: z.strictObject({
    maxBytes: z.number().int().positive().default(25 * 1024 * 1024).describe('largest file fetched'),
    timeoutMs: z.number().int().positive().default(30_000).describe('the whole download of one file, redirects included'),
    hosts: z.array(z.string().min(1).transform((h) => h.toLowerCase())).min(1).optional()
      .describe('only fetch files from these host names, on every redirect too (recommended); default: any public http(s) host'),
    allowPrivateAddresses: z.boolean().default(false)
      .describe('also fetch from loopback and private addresses (a PBX on the office network); off: only public addresses'),
  }).prefault({}).describe('fetching mapped file URLs at delivery time'),
};

/** The options once the preset is applied: what the handler works with. */
export interface ResolvedWebhook {
  auth: WebhookAuth;
  format: 'auto' | 'json' | 'form';
  jsonField?: string;
  mapping: Mapping;
  kind: MessageKind;
  private: boolean;
  drop: Condition[];
  cases: Case[];
  echo?: { param: string };
  response: { status: number; body: unknown };
  attachments: { maxBytes: number; timeoutMs: number; hosts?: string[]; allowPrivateAddresses: boolean };
}

type Parsed = z.infer<z.ZodObject<typeof Fields>>;

export function resolveWebhook(o: Parsed): ResolvedWebhook {
  const p = o.preset ? PRESETS[o.preset] : {};
  return {
    auth: o.auth,
    format: o.format ?? p.format ?? 'auto',
    jsonField: o.jsonField ?? p.jsonField,
    mapping: { ...p.mapping, ...o.mapping },
    kind: o.kind ?? p.kind ?? 'message',
    private: o.private ?? p.private ?? false,
    drop: o.drop ?? p.drop ?? [],
    cases: o.cases ?? p.cases ?? [],
    echo: o.echo ?? p.echo,
    response: { status: o.response?.status ?? 200, body: o.response?.body ?? { ok: true } },
    attachments: o.attachments,
  };
}

export const WebhookChannelOptions = z.strictObject(Fields).superRefine((o, ctx) => {
  const r = resolveWebhook(o);
  if (!r.mapping.senderId && !r.mapping.phone && !r.mapping.email) {
    ctx.addIssue({
      code: 'custom',
      path: ['mapping'],
      message: 'map at least one of senderId, phone or email: something must say who the customer is',
    });
  }
});
export type WebhookChannelOptions = z.infer<typeof WebhookChannelOptions>;

export const WEBHOOK_SECRETS = WEBHOOK_AUTH_SECRETS;
