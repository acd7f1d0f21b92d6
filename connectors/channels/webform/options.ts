import { z } from 'zod';

/** The web-form channel's options: what `channels.<id>` holds besides `kind: webform`. */

export const SUBMISSION_ID_FIELD = 'submissionId';
export const DEFAULT_CAPTCHA_FIELD = { turnstile: 'cf-turnstile-response', hcaptcha: 'h-captcha-response' } as const;
export const DEFAULT_VERIFY_URL = {
  turnstile: 'https://challenges.cloudflare.com/turnstile/v0/siteverify',
  hcaptcha: 'https://api.hcaptcha.com/siteverify',
} as const;
export const DEFAULT_MAPPING = { text: 'message', email: 'email', phone: 'phone', name: 'name' } as const;

export const FieldType = z.enum(['string', 'email', 'phone', 'number', 'boolean']);
export type FieldType = z.infer<typeof FieldType>;

export const FieldSpec = z.strictObject({
  type: FieldType.default('string').describe('how the value is checked: string, email, phone, number or boolean'),
  required: z.boolean().default(false)
    .describe('the field must be present and non-empty (for a boolean: must be checked/true)'),
  enum: z.array(z.string().min(1)).min(1).optional().describe('the only values accepted'),
  maxLength: z.number().int().positive().default(5000).describe('longest accepted value, in characters'),
  label: z.string().min(1).optional().describe('human name, used in error pages and in the ticket text summary'),
});
export type FieldSpec = z.infer<typeof FieldSpec>;

const fieldName = z.string().regex(/^[A-Za-z0-9_.[\]-]{1,100}$/, 'field names are 1–100 of A-Z a-z 0-9 _ . - [ ]');
const fieldRef = (what: string, fallback?: string) =>
  fieldName.optional().describe(`form field that fills ${what}${fallback ? ` (default "${fallback}")` : ''}`);

/** Mapping keys stay optional so that a name the admin typed can be checked against `fields`. */
export const Mapping = z.strictObject({
  text: fieldRef('the message text', DEFAULT_MAPPING.text),
  email: fieldRef("the customer's email", DEFAULT_MAPPING.email),
  phone: fieldRef("the customer's phone", DEFAULT_MAPPING.phone),
  name: fieldRef("the customer's display name", DEFAULT_MAPPING.name),
  subject: fieldRef('the ticket subject'),
  playerId: fieldRef("the customer's player/account id"),
});

const origin = z.string().refine(isOrigin, 'an origin is scheme://host[:port] with no path, e.g. https://example.com');

export const CaptchaOptions = z.strictObject({
  provider: z.enum(['turnstile', 'hcaptcha']).describe('Cloudflare Turnstile or hCaptcha'),
  secret: z.string().min(1).describe('server-side secret key from the provider (a secret: use ${ENV})'),
  verifyUrl: z.url({ protocol: /^https?$/ }).optional()
    .describe("siteverify endpoint; defaults to the provider's (override for a proxy or a test fake)"),
  field: fieldName.optional()
    .describe('form field holding the captcha token (default cf-turnstile-response / h-captcha-response)'),
});
export type CaptchaOptions = z.infer<typeof CaptchaOptions>;

export const FilesOptions = z.strictObject({
  maxFiles: z.number().int().nonnegative().default(5).describe('files per submission; 0 refuses uploads'),
  maxFileBytes: z.number().int().positive().default(10 * 1024 * 1024).describe('largest accepted file, in bytes'),
  allowedTypes: z.array(z.string().regex(/^(\*|[\w.+-]+\/(\*|[\w.+-]+))$/i, 'a mime type or pattern like image/*'))
    .min(1).optional().describe('accepted mime types, patterns like image/* allowed; default: any'),
});
export type FilesOptions = z.infer<typeof FilesOptions>;

export const WebformOptions = z.strictObject({
  fields: z.record(fieldName, FieldSpec)
    .default({ name: FieldSpec.parse({}), email: FieldSpec.parse({ type: 'email' }), message: FieldSpec.parse({ required: true }) })
    .describe('declared fields: name → rules; undeclared fields are ignored'),
  mapping: Mapping.prefault({}).describe('which fields fill the normalized message'),
  honeypot: fieldName.default('_gotcha')
    .describe('hidden field that humans leave empty; when filled the answer is a normal success and nothing is kept'),
  rateLimit: z.strictObject({
    perMinute: z.number().int().positive().default(10).describe('submissions per minute per client IP'),
    burst: z.number().int().positive().optional().describe('submissions allowed at once (default perMinute)'),
  }).prefault({}).describe('per client IP token bucket, kept in this process'),
  cors: z.strictObject({
    origins: z.array(origin).min(1).describe('origins allowed to post from a browser, e.g. https://example.com'),
  }).optional().describe('cross-origin allow-list; without it no CORS headers are sent and origins are not checked'),
  captcha: CaptchaOptions.optional().describe('server-side captcha verification (fails closed)'),
  files: FilesOptions.prefault({}).describe('limits on uploaded files (multipart)'),
  successMessage: z.string().min(1).default('Thank you, we received your message.')
    .describe('shown to the customer after a successful submission'),
  redirect: z.url({ protocol: /^https?$/ }).optional()
    .describe('where a classic HTML form (no Accept: application/json) is sent after success, with a 303'),
}).superRefine((o, ctx) => {
  const reserved = new Map<string, string>([
    [SUBMISSION_ID_FIELD, 'the submission id'],
    [o.honeypot, 'the honeypot'],
  ]);
  if (o.captcha) reserved.set(captchaField(o.captcha), 'the captcha token');
  for (const [name, what] of reserved) {
    if (Object.hasOwn(o.fields, name)) {
      ctx.addIssue({ code: 'custom', path: ['fields', name], message: `"${name}" is reserved for ${what}; rename the field` });
    }
  }
  for (const [key, name] of Object.entries(o.mapping)) {
    if (name !== undefined && !Object.hasOwn(o.fields, name)) {
      ctx.addIssue({ code: 'custom', path: ['mapping', key], message: `field "${name}" is not declared in fields` });
    }
  }
});
export type WebformOptions = z.infer<typeof WebformOptions>;

export type ResolvedMapping = { text: string; email: string; phone: string; name: string; subject?: string; playerId?: string };

export function resolveMapping(m: WebformOptions['mapping']): ResolvedMapping {
  return {
    text: m.text ?? DEFAULT_MAPPING.text,
    email: m.email ?? DEFAULT_MAPPING.email,
    phone: m.phone ?? DEFAULT_MAPPING.phone,
    name: m.name ?? DEFAULT_MAPPING.name,
    subject: m.subject,
    playerId: m.playerId,
  };
}

export function captchaField(c: CaptchaOptions): string {
  return c.field ?? DEFAULT_CAPTCHA_FIELD[c.provider];
}

function isOrigin(value: string): boolean {
  try {
    const u = new URL(value);
    return (u.protocol === 'https:' || u.protocol === 'http:') && u.origin === value;
  } catch {
    return false;
  }
}
