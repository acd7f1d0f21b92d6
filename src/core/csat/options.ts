import { z } from 'zod';

/**
 * The `csat:` section: which channels ask the customer for a rating after the helpdesk reports a
 * ticket solved, when, and where the answer goes. Off until a channel is listed.
 */

const Clock = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM, 00:00–23:59');

const TextSet = z.strictObject({
  question: z.string().min(1).max(900).optional().describe('the rating question'),
  hint: z.string().min(1).max(300).optional().describe('added where the channel has no buttons: how to answer by text'),
  linksIntro: z.string().min(1).max(300).optional().describe('email: the line above the five rating links'),
  subject: z.string().min(1).max(200).optional().describe('email: the subject of the rating question'),
  thanks: z.string().min(1).max(900).optional().describe('after a rating'),
  followUp: z.string().min(1).max(900).optional().describe('after a low rating: what could we do better?'),
  feedbackThanks: z.string().min(1).max(900).optional().describe('after the answer to the follow-up question'),
  menu: z.string().min(1).max(20).optional().describe('WhatsApp: the caption of the button that opens the list (20 characters at most)'),
});
export type TextSet = z.infer<typeof TextSet>;

export const CsatChannel = z.strictObject({
  via: z.string().min(1).optional()
    .describe("ask through this email channel instead (a web form's customer by the address they gave)"),
});

export const CsatOptions = z.strictObject({
  channels: z.record(z.string(), CsatChannel.prefault({})).default({})
    .describe('opt-in: channel id → options; only customers of these channels are asked'),
  delaySeconds: z.number().int().min(0).max(86_400).default(120)
    .describe("seconds between the helpdesk's 'solved' and the question, so the agent's last reply arrives first"),
  quietHours: z.strictObject({ from: Clock, to: Clock }).optional()
    .describe('no question between these times (in `timezone`); it waits until they end. from after to wraps past midnight'),
  lowScore: z.number().int().min(0).max(5).default(3)
    .describe('a rating at or below this gets the follow-up question "what could we do better?"; 0: never'),
  answerHours: z.number().int().min(1).max(24 * 30).default(72)
    .describe('how long a typed "1"–"5" counts as the answer, and how long an email link works'),
  followUpMinutes: z.number().int().min(1).max(7 * 24 * 60).default(60)
    .describe('how long the next message after the follow-up question counts as its answer (a private note), not a new request'),
  responsibleGaming: z.strictObject({
    tags: z.array(z.string().min(1)).default(['responsible_gaming'])
      .describe("a ticket with any of these tags (set by a rule, or in the solved event's tags) is never asked"),
    ask: z.boolean().default(false).describe('true: ask those customers too (an admin decision)'),
  }).prefault({}),
  tagPrefix: z.string().regex(/^[a-z0-9_-]{1,40}$/, 'lowercase letters, digits, _ and -').default('csat_')
    .describe('the rating is added to the ticket as a tag: prefix + score, e.g. csat_5'),
  field: z.string().min(1).optional()
    .describe('symbolic custom field (mapped in helpdesk.fields) that receives the score'),
  linkSecret: z.string().min(32, 'at least 32 characters').optional()
    .describe('signs the rating links in emails (HMAC); required when an email channel or a `via` is listed (secret)'),
  texts: z.strictObject({ ru: TextSet.optional(), uz: TextSet.optional(), en: TextSet.optional() }).default({})
    .describe('your own wording, per language; anything left out uses the built-in text'),
}).describe('customer satisfaction: a rating question in the channel after a ticket is solved (docs/csat.md)');

export type CsatOptions = z.infer<typeof CsatOptions>;
