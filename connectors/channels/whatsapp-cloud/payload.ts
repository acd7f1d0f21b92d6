import { z } from 'zod';

/**
 * The Cloud API webhook, as far as the gateway reads it. Objects are loose (Meta adds fields
 * without notice); the envelope is checked as a whole, each message and status on its own, so
 * one odd item never costs the rest of the batch.
 */

const Media = z.looseObject({
  id: z.string().min(1),
  mime_type: z.string().optional(),
  sha256: z.string().optional(),
  caption: z.string().optional(),
  filename: z.string().optional(),
  voice: z.boolean().optional(),
  animated: z.boolean().optional(),
});

const ErrorItem = z.looseObject({
  code: z.number().optional(),
  title: z.string().optional(),
  message: z.string().optional(),
  error_data: z.looseObject({ details: z.string().optional() }).optional(),
});
export type ErrorItem = z.infer<typeof ErrorItem>;

export const WaMessage = z.looseObject({
  from: z.string().min(1),
  id: z.string().min(1),
  timestamp: z.string().regex(/^\d+$/, 'unix seconds as a string'),
  type: z.string().min(1),
  context: z.looseObject({ from: z.string().optional(), id: z.string().optional() }).optional(),
  text: z.looseObject({ body: z.string() }).optional(),
  image: Media.optional(),
  video: Media.optional(),
  audio: Media.optional(),
  document: Media.optional(),
  sticker: Media.optional(),
  location: z.looseObject({
    latitude: z.number(),
    longitude: z.number(),
    name: z.string().optional(),
    address: z.string().optional(),
    url: z.string().optional(),
  }).optional(),
  contacts: z.array(z.looseObject({
    name: z.looseObject({ formatted_name: z.string().optional(), first_name: z.string().optional(), last_name: z.string().optional() }).optional(),
    phones: z.array(z.looseObject({ phone: z.string().optional(), wa_id: z.string().optional(), type: z.string().optional() })).optional(),
    emails: z.array(z.looseObject({ email: z.string().optional() })).optional(),
  })).optional(),
  interactive: z.looseObject({
    type: z.string(),
    button_reply: z.looseObject({ id: z.string(), title: z.string() }).optional(),
    list_reply: z.looseObject({ id: z.string(), title: z.string(), description: z.string().optional() }).optional(),
  }).optional(),
  button: z.looseObject({ payload: z.string().optional(), text: z.string() }).optional(),
  reaction: z.looseObject({ message_id: z.string(), emoji: z.string().optional() }).optional(),
  system: z.looseObject({ body: z.string().optional(), wa_id: z.string().optional(), type: z.string().optional() }).optional(),
  referral: z.looseObject({ source_url: z.string().optional(), headline: z.string().optional() }).optional(),
  errors: z.array(ErrorItem).optional(),
});
export type WaMessage = z.infer<typeof WaMessage>;

export const WaStatus = z.looseObject({
  id: z.string().min(1),
  status: z.string().min(1),
  timestamp: z.string().optional(),
  recipient_id: z.string().optional(),
  biz_opaque_callback_data: z.string().optional(),
  errors: z.array(ErrorItem).optional(),
});
export type WaStatus = z.infer<typeof WaStatus>;

export const WaContact = z.looseObject({
  wa_id: z.string().optional(),
  profile: z.looseObject({ name: z.string().optional() }).optional(),
});
export type WaContact = z.infer<typeof WaContact>;

/** One `changes[].value` of field `messages`; items stay unknown until checked one by one. */
export const ChangeValue = z.looseObject({
  messaging_product: z.string().optional(),
  metadata: z.looseObject({ display_phone_number: z.string().optional(), phone_number_id: z.string() }),
  contacts: z.array(z.unknown()).optional(),
  messages: z.array(z.unknown()).optional(),
  statuses: z.array(z.unknown()).optional(),
  errors: z.array(z.unknown()).optional(),
});
export type ChangeValue = z.infer<typeof ChangeValue>;

export const WebhookPayload = z.looseObject({
  object: z.string(),
  entry: z.array(z.looseObject({
    id: z.string().optional(),
    changes: z.array(z.looseObject({ field: z.string(), value: z.unknown() })),
  })),
});
export type WebhookPayload = z.infer<typeof WebhookPayload>;
