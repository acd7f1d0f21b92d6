import { defineChannel } from '../../../src/core/connector.ts';
import { createCtiChannel } from './channel.ts';
import { CTI_SECRETS, CtiOptions } from './options.ts';

/** Generic CTI: newCall / answer / hangup from any PBX that speaks Zammad's CTI API. */
export const definition = defineChannel({
  kind: 'cti',
  medium: 'phone',
  sends: [],
  options: CtiOptions,
  secrets: CTI_SECRETS,
  create: (options, ctx) => createCtiChannel(options, ctx),
});

export { CtiOptions } from './options.ts';
