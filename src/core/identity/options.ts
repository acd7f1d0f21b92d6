import { z } from 'zod';
import { PROVABLE_FIELDS, type ProvableField } from './identifiers.ts';
import { isPhoneRegion } from './phone.ts';

/** The `identity:` section: how customers are recognised across channels (docs/identity.md). */
export const IdentityOptions = z.strictObject({
  defaultRegion: z.string()
    .refine(isPhoneRegion, 'must be a two-letter region libphonenumber knows, e.g. UZ, RU, KZ')
    .transform((r) => r.toUpperCase())
    .optional()
    .describe('region of phone numbers written without a country code (UZ: 90 123 45 67 is +998901234567); unset: only international numbers'),
  join: z.enum(['open-ticket', 'per-channel']).default('open-ticket')
    .describe("open-ticket: a known customer's new conversation on any channel joins their open ticket for the same topic; per-channel: each conversation gets its own ticket (still one helpdesk user)"),
  joinWindowHours: z.number().positive().default(72)
    .describe('a ticket is open for joining this long after the customer last wrote on it'),
  proofs: z.record(z.string(), z.array(z.enum(PROVABLE_FIELDS as [ProvableField, ...ProvableField[]])))
    .default({})
    .describe('channel id → the sender fields it vouches for (phone, email, playerId); unset: by the channel\'s medium (docs/identity.md)'),
  ticketField: z.string().min(1).default('player_id')
    .describe('the symbolic custom field (mapped in helpdesk.fields) the player id is written to'),
});
export type IdentityOptions = z.infer<typeof IdentityOptions>;
