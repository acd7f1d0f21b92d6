import { defineChannel } from '../../../src/core/connector.ts';
import { TWILIO_SECRETS, TwilioVoiceOptions } from './options.ts';

/** Twilio Voice: missed calls and voicemail become tickets, answered calls a private call log. */
export const definition = defineChannel({
  kind: 'twilio-voice',
  medium: 'phone',
  sends: [],
  options: TwilioVoiceOptions,
  secrets: TWILIO_SECRETS,
  // Loaded on first use: a gateway without this connector never pays for its libraries' memory.
  create: async (options, ctx) => (await import('./channel.ts')).createTwilioVoiceChannel(options, ctx),
});

export { TwilioVoiceOptions } from './options.ts';
