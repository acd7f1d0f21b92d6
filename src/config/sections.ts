import { z } from 'zod';
import { suggest } from './issues.ts';

/**
 * The gateway's own config sections (everything that is not a connector's options).
 * Every object is strict so a typo is reported instead of silently ignored.
 */

export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Message for a zone Intl does not know, with the closest real one. */
export function unknownZoneMessage(zone: string): string {
  const s = suggest(zone, Intl.supportedValuesOf('timeZone'));
  return s === undefined ? 'unknown IANA time zone (e.g. Europe/Moscow, Asia/Tashkent, UTC)' : `unknown IANA time zone, did you mean '${s}'?`;
}

export const TimeZone = z.string().superRefine((zone, ctx) => {
  if (!isTimeZone(zone)) ctx.addIssue({ code: 'custom', message: unknownZoneMessage(zone) });
});

export const ServerSection = z.strictObject({
  port: z.number().int().min(0).max(65535).default(8080).describe('TCP port to listen on'),
  host: z.string().min(1).default('0.0.0.0').describe('interface to bind'),
  publicUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. https://support.example.com' })
    // Stripped so `${publicUrl}/webhooks/x` never has a double slash.
    .transform((u) => u.replace(/\/+$/, ''))
    .optional()
    .describe('how channels reach this gateway from outside (webhook registration, signatures)'),
  adminToken: z.string().min(16, 'must be at least 16 characters').optional()
    .describe('token for /admin: the console (log in with it) and the admin API (Authorization: Bearer); both are off without it (secret)'),
  viewerToken: z.string().min(16, 'must be at least 16 characters').optional()
    .describe('a second token that may look at the console and the admin API but not change anything (needs adminToken; secret)'),
  bodyLimitBytes: z.number().int().positive().default(1_048_576).describe('largest request body accepted'),
  trustProxy: z.union([z.boolean(), z.number().int().min(0), z.string(), z.array(z.string())]).default(false)
    .describe('behind a reverse proxy: true, the number of hops, or the proxy addresses (Fastify trustProxy)'),
}).describe('the HTTP server');

export const StoreSection = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('embedded').describe('node:sqlite files on local disk; no server needed'),
    path: z.string().min(1).default('./data').describe('directory for the database and uploaded files, relative to the working directory'),
  }),
  z.strictObject({
    kind: z.literal('redis').describe('Redis: several processes or machines'),
    url: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL').describe('Redis connection URL (may hold a password: secret)'),
    prefix: z.string().min(1).default('switchboard').describe('key prefix, to share one Redis between deployments'),
    takeoverAfterMs: z.number().int().min(1000).max(600_000).default(30_000)
      .describe('how long the work of a worker process that died stays locked before another worker takes it over'),
  }),
]).describe('where queued work, the idempotency ledger and conversation links live');

export const PrivacySection = z.strictObject({
  maskCards: z.boolean().default(true)
    .describe('mask card numbers (13–19 digits, Luhn-valid or grouped like a card) to their last 4 digits when a message is accepted, before it is stored or sent'),
  maskCvv: z.boolean().default(false).describe('also mask a 3–4 digit number (a CVV/CVC) just after a masked card number'),
  maskIbans: z.boolean().default(false).describe('also mask IBANs (mod-97 checked) to their country, check digits and last 4'),
}).describe('what is masked in customers\' messages before anything stores or sends them (docs/privacy.md)');

export const LogSection = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
}).describe('logging (JSON lines on stdout)');

export const FloodLimitSection = z.strictObject({
  messages: z.number().int().min(1).max(100_000).default(30).describe('messages one sender may send within perSeconds before being throttled'),
  perSeconds: z.number().int().min(1).max(86_400).default(60).describe('the window of the flood limit, in seconds'),
}).describe('per-sender flood limit: a sender over it waits behind everyone else (nothing is dropped; urgent messages are not held back) and the ticket gets a private note once per episode');

export const DeliverySection = z.strictObject({
  maxAttempts: z.number().int().min(1).max(100).default(12).describe('attempts before a message goes to the dead-letter queue'),
  baseDelayMs: z.number().int().positive().default(1000).describe('first retry delay; doubles with each attempt'),
  maxDelayMs: z.number().int().positive().default(600_000).describe('longest wait between attempts'),
  concurrency: z.number().int().min(1).max(1000).default(8).describe('conversations delivered in parallel per worker'),
  stormShare: z.number().min(0).max(0.9).default(0.7)
    .describe('while webhooks pour in and deliveries run in the same process (or worker processes on Redis are short of CPU), the part of the time the deliveries have the process to themselves (webhooks wait meanwhile, at most that part of 250 ms); 0: webhooks never wait'),
  maxWaitingWebhooks: z.number().int().min(0).max(10_000).default(100)
    .describe('webhooks of one route that may wait for their turn during a storm; the next is answered 503 with Retry-After (the channel sends it again)'),
  floodLimit: z.union([z.literal(false), FloodLimitSection]).prefault({})
    .describe('per-sender flood limit, or false for none'),
}).refine((d) => d.maxDelayMs >= d.baseDelayMs, { path: ['maxDelayMs'], message: 'must be at least baseDelayMs' })
  .describe('retries and parallelism of deliveries to the helpdesk');

export const Language = z.enum(['ru', 'uz', 'en']);

/** Option paths of the core sections that hold secrets (connectors declare their own). */
export const CORE_SECRET_PATHS: readonly (readonly string[])[] = [['server', 'adminToken'], ['server', 'viewerToken'], ['store', 'url'], ['csat', 'linkSecret']];
