import type { ConnectorRegistry } from '../src/config/schema.ts';
import { definition as telegram } from './channels/telegram/index.ts';
import { definition as webform } from './channels/webform/index.ts';
import { definition as zendesk } from './helpdesks/zendesk/index.ts';
import { definition as jsonl } from './helpdesks/jsonl/index.ts';

/** One line per connector: the map from `kind:` in the config to the code that implements it. */
export const registry: ConnectorRegistry = {
  channels: [telegram, webform],
  helpdesks: [zendesk, jsonl],
  notifiers: [],
};
