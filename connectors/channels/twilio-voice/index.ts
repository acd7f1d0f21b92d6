import { defineChannel } from '../../../src/core/connector.ts';
import { createTwilioVoiceChannel } from './channel.ts';
import { TWILIO_SECRETS, TwilioVoiceOptions } from './options.ts';

/** Twilio Voice: missed calls and voicemail become tickets, answered calls a private call log. */
export const definition = defineChannel({
  kind: 'twilio-voice',
  options: TwilioVoiceOptions,
  secrets: TWILIO_SECRETS,
  create: (options, ctx) => createTwilioVoiceChannel(options, ctx),
});

export { TwilioVoiceOptions } from './options.ts';
