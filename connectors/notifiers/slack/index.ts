import { defineNotifier } from '../../../src/core/connector.ts';
import { createSlackNotifier } from './notifier.ts';
import { SLACK_SECRETS, SlackOptions } from './options.ts';

/** Escalation alerts to Slack channels (chat.postMessage). */
export const definition = defineNotifier({
  kind: 'slack',
  options: SlackOptions,
  secrets: SLACK_SECRETS,
  create: (options, ctx) => createSlackNotifier(options, ctx),
});

export { SlackOptions } from './options.ts';
export { slackMessage, escapeMrkdwn } from './message.ts';
