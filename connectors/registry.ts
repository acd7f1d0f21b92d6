import type { ConnectorRegistry } from '../src/config/schema.ts';
import { definition as telegram } from './channels/telegram/index.ts';
import { definition as webform } from './channels/webform/index.ts';
import { definition as whatsappCloud } from './channels/whatsapp-cloud/index.ts';
import { definition as whatsappWeb } from './channels/whatsapp-web/index.ts';
import { definition as twilioVoice } from './channels/twilio-voice/index.ts';
import { definition as cti } from './channels/cti/index.ts';
import { definition as webhook } from './channels/webhook/index.ts';
import { definition as email } from './channels/email/index.ts';
import { definition as slackNotifier } from './notifiers/slack/index.ts';
import { definition as webhookNotifier } from './notifiers/webhook/index.ts';
import { definition as jsonlNotifier } from './notifiers/jsonl/index.ts';
import { definition as zendesk } from './helpdesks/zendesk/index.ts';
import { definition as jsonl } from './helpdesks/jsonl/index.ts';
import { definition as freshdesk } from './helpdesks/freshdesk/index.ts';
import { definition as usedesk } from './helpdesks/usedesk/index.ts';

/** One line per connector: the map from `kind:` in the config to the code that implements it. */
export const registry: ConnectorRegistry = {
  channels: [telegram, webform, whatsappCloud, whatsappWeb, twilioVoice, cti, webhook, email],
  helpdesks: [zendesk, jsonl, freshdesk, usedesk],
  notifiers: [slackNotifier, webhookNotifier, jsonlNotifier],
};
