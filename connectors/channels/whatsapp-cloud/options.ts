import { z } from 'zod';

/** What Meta lets a business download or send: documents up to 100 MB; the helpdesk may take less. */
export const DEFAULT_MAX_FILE_BYTES = 50 * 1024 * 1024;

export const TemplateOptions = z.strictObject({
  name: z.string().regex(/^[a-z0-9_]{1,512}$/, 'the template name as approved in WhatsApp Manager (lowercase letters, digits and _)')
    .describe('approved message template sent when the 24-hour customer-service window is closed'),
  language: z.string().regex(/^[a-z]{2,3}(_[A-Z]{2})?$/, 'a template language code such as en, en_US, ru, uz')
    .describe('language code of the approved template, exactly as in WhatsApp Manager'),
  replyParameter: z.boolean().default(true)
    .describe("true: the template's body has one parameter {{1}} that carries the agent's reply; false: a template without parameters (the reply itself is not sent)"),
});
export type TemplateOptions = z.infer<typeof TemplateOptions>;

const TemplateLanguage = z.string().regex(/^[a-z]{2,3}(_[A-Z]{2})?$/, 'a template language code such as en, en_US, ru, uz');

export const QuestionTemplateOptions = z.strictObject({
  name: z.string().regex(/^[a-z0-9_]{1,512}$/, 'the template name as approved in WhatsApp Manager (lowercase letters, digits and _)')
    .describe('approved template with one quick-reply button per choice (five for a rating: 1 … 5, in that order)'),
  languages: z.strictObject({ ru: TemplateLanguage.optional(), uz: TemplateLanguage.optional(), en: TemplateLanguage.optional() })
    .refine((l) => Object.values(l).some((v) => v !== undefined), 'name at least one language, e.g. { ru: ru, en: en_US }')
    .describe("the template's approved translations: customer language → template language code; another language gets the first"),
});
export type QuestionTemplateOptions = z.infer<typeof QuestionTemplateOptions>;

export const WhatsAppCloudOptions = z.object({
  // YAML reads an unquoted id as a number; ids are 15 digits, well within exact integers.
  phoneNumberId: z.union([z.string(), z.number().int().positive().max(Number.MAX_SAFE_INTEGER)])
    .transform(String)
    .pipe(z.string().regex(/^\d{5,20}$/, 'the Phone number ID from WhatsApp → API Setup (digits), not the phone number itself'))
    .describe('Phone number ID of the business number (WhatsApp → API Setup); messages to other numbers are ignored'),
  accessToken: z.string().min(20, 'expected a System User access token (a long string starting with EAA…)')
    .describe('permanent System User access token with whatsapp_business_messaging (secret)'),
  appSecret: z.string().regex(/^[A-Za-z0-9]{16,64}$/, 'expected the App secret from App settings → Basic (hex characters)')
    .describe('App secret: verifies X-Hub-Signature-256 on every webhook call (secret)'),
  verifyToken: z.string().min(8, 'at least 8 characters').max(256)
    .describe('any string you choose and paste into the webhook settings; Meta sends it back to verify the URL (secret)'),
  graphUrl: z.url().regex(/[^/]$/, 'remove the trailing "/"').default('https://graph.facebook.com')
    .describe('Graph API root; a fake in tests'),
  apiVersion: z.string().regex(/^v\d+\.\d+$/, 'a Graph API version such as v23.0').default('v23.0')
    .describe('Graph API version used for every call'),
  template: TemplateOptions.optional()
    .describe('sent instead of a reply outside the 24-hour window; without it such a reply is not sent and the agent gets a private note'),
  questionTemplate: QuestionTemplateOptions.optional()
    .describe('sent for a question with choices (the rating question) outside the 24-hour window; inside it the question is a list message'),
  reactions: z.enum(['note', 'ignore']).default('note')
    .describe("a customer's emoji reaction: a private note on the ticket, or ignored"),
  maxFileBytes: z.number().int().positive().default(DEFAULT_MAX_FILE_BYTES)
    .describe('largest inbound media downloaded; bigger ones are named in a private note'),
  timeoutMs: z.number().int().positive().default(30_000).describe('per-request timeout for Graph API calls'),
});

export type WhatsAppCloudOptions = z.infer<typeof WhatsAppCloudOptions>;

export const WHATSAPP_CLOUD_SECRETS = ['accessToken', 'appSecret', 'verifyToken'];
