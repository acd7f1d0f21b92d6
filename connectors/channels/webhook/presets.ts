import type { MessageKind } from '../../../src/core/message.ts';
import type { Case, Mapping } from './options.ts';
import type { Condition } from './paths.ts';

/**
 * Known vendor formats, written in the same options an admin writes in YAML: they show that
 * real PBX webhooks fit the declarative mapping. Only their signatures need a recipe of their
 * own (auth modes `mango` and `zadarma`). Every option an admin sets overrides the preset's.
 */
export interface Preset {
  format?: 'auto' | 'json' | 'form';
  jsonField?: string;
  mapping?: Mapping;
  kind?: MessageKind;
  private?: boolean;
  drop?: Condition[];
  cases?: Case[];
  echo?: { param: string };
}

/**
 * Mango Office VPBX: events are POSTed as a form (vpbx_api_key, sign, json) to
 * `<base URL>/events/<name>`. `events/summary` arrives once per finished call, so it alone
 * makes tickets; per-leg `events/call` and the rest are acknowledged and dropped.
 * Inbound calls only (call_direction 1); a call with talk time is answered: a call note.
 */
const mango: Preset = {
  format: 'form',
  jsonField: 'json',
  kind: 'call',
  mapping: {
    event: '$path',
    dedupeKey: 'entry_id',
    senderId: 'from.number',
    phone: 'from.number',
    conversationId: 'from.number',
    text: 'Missed call from {{from.number}} to {{to.number}} (line {{line_number}}), disconnect reason {{disconnect_reason}}.',
  },
  drop: [
    { path: '$path', notEquals: '/events/summary' },
    { path: 'call_direction', notEquals: 1 },
  ],
  cases: [
    {
      when: [{ path: 'talk_time', matches: '^[1-9]' }],
      private: true,
      mapping: {
        text: 'Answered call from {{from.number}} to {{to.number}} (extension {{to.extension}}), talk time {{talk_time}} s.',
      },
    },
  ],
};

/**
 * Zadarma: form POSTs with `event`; NOTIFY_END closes an inbound call with its disposition.
 * The URL is proven by answering `?zd_echo=` verbatim. Outbound calls (NOTIFY_OUT_*) and the
 * other notifications are acknowledged and dropped.
 */
const zadarma: Preset = {
  format: 'form',
  kind: 'call',
  echo: { param: 'zd_echo' },
  mapping: {
    event: 'event',
    dedupeKey: 'pbx_call_id',
    senderId: 'caller_id',
    phone: 'caller_id',
    conversationId: 'caller_id',
    text: 'Missed call from {{caller_id}} to {{called_did}} ({{disposition}}).',
  },
  drop: [{ path: 'event', notEquals: 'NOTIFY_END' }],
  cases: [
    {
      when: [{ path: 'disposition', equals: 'answered' }],
      private: true,
      mapping: { text: 'Answered call from {{caller_id}} to {{called_did}} (extension {{internal}}), {{duration}} s.' },
    },
  ],
};

export const PRESETS = { mango, zadarma } satisfies Record<string, Preset>;
