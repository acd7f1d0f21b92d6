import { z } from 'zod';

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).transform((u) => u.replace(/\/+$/, ''));

const DialTarget = z.union([
  z.string().min(1),
  z.strictObject({
    to: z.string().min(1).describe('+E.164 number, client:identity or sip:address'),
    agent: z.string().min(1).optional().describe('the name the call log shows when this target answers'),
  }),
]);

export const TwilioVoiceOptions = z.strictObject({
  accountSid: z.string().regex(/^AC[0-9a-fA-F]{32}$/, 'the Account SID from the Twilio console: AC followed by 32 hex digits'),
  authToken: z.string().min(8).describe("the account's Auth Token: checks X-Twilio-Signature and fetches recordings (secret)"),
  publicUrl: httpUrl.optional()
    .describe('the base URL Twilio is configured with, when it is not server.publicUrl (signatures cover the exact URL)'),
  apiBaseUrl: httpUrl.default('https://api.twilio.com')
    .describe('Twilio REST API root: recordings and call lookups (a fake in tests)'),
  dial: z.strictObject({
    to: z.array(DialTarget).min(1).describe('who rings (all at once); the first to answer takes the call'),
    timeoutSec: z.number().int().min(5).max(600).default(20).describe('how long they ring before voicemail'),
    record: z.boolean().default(false).describe('record answered calls; the recording goes onto the call log'),
    callerId: z.string().min(1).optional().describe('caller id shown to the agents (default: the caller\'s number)'),
  }).optional().describe('ring agents when a call comes in; without it callers go straight to voicemail'),
  voicemail: z.strictObject({
    enabled: z.boolean().default(true),
    greeting: z.string().min(1).default('Sorry, no one can take your call right now. Please leave a message after the tone.')
      .describe('spoken to the caller before the beep'),
    language: z.string().regex(/^[a-z]{2,3}-[A-Z]{2}$/, 'a Twilio <Say> language such as en-US or ru-RU').default('en-US'),
    playUrl: httpUrl.optional().describe('an audio file to play instead of the spoken greeting'),
    maxLengthSec: z.number().int().min(5).max(3600).default(120),
    transcribe: z.boolean().default(false).describe("Twilio's transcription (English only; billed); the text is added to the ticket"),
  }).prefault({}).describe('what a caller hears and leaves when nobody answers'),
  callLog: z.enum(['note', 'off']).default('note')
    .describe('note: answered and outbound calls become private call logs on the customer\'s ticket; off: only missed calls and voicemail'),
  recordingFormat: z.enum(['mp3', 'wav']).default('mp3'),
  maxRecordingBytes: z.number().int().positive().default(50 * 1024 * 1024),
  timeoutMs: z.number().int().positive().default(30_000).describe('per request to the Twilio API'),
});
export type TwilioVoiceOptions = z.infer<typeof TwilioVoiceOptions>;

export const TWILIO_SECRETS = ['authToken'];
