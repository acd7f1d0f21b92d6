import { defineNotifier } from '../../../src/core/connector.ts';
import { SLACK_SECRETS, SlackOptions } from './options.ts';

/** Escalation alerts to Slack channels (chat.postMessage). */
export const definition = defineNotifier({
  kind: 'slack',
  options: SlackOptions,
  secrets: SLACK_SECRETS,
  // Loaded on first use: a gateway without this connector never pays for its libraries' memory.
  create: async (options, ctx) => (await import('./notifier.ts')).createSlackNotifier(options, ctx),
});

export { SlackOptions } from './options.ts';
export { slackMessage, escapeMrkdwn } from './message.ts';
