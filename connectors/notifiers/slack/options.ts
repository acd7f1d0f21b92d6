import { z } from 'zod';

export const SlackOptions = z.strictObject({
  token: z.string().regex(/^xox[bp]-[A-Za-z0-9-]+$/, 'a Slack bot token: xoxb-…').describe('bot token with chat:write (secret)'),
  channels: z.record(z.string().min(1), z.string().min(1)).default({})
    .describe('rule target → Slack channel id (C…); notify: [slack:compliance] posts to channels.compliance'),
  defaultChannel: z.string().min(1).optional().describe('channel for targets not listed in channels'),
  apiUrl: z.url({ protocol: /^https?$/ }).transform((u) => (u.endsWith('/') ? u : `${u}/`)).default('https://slack.com/api/')
    .describe('Slack Web API root (a local fake in tests)'),
  timeoutMs: z.number().int().positive().default(10_000),
  excerptLength: z.number().int().min(20).max(2000).default(300).describe('characters of the message in the alert'),
});
export type SlackOptions = z.infer<typeof SlackOptions>;

export const SLACK_SECRETS = ['token'];
