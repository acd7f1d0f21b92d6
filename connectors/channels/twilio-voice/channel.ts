import type { ChannelContext, ChannelInstance, HttpResponse, InboundRequest, RouteSpec } from '../../../src/core/connector.ts';
import { refusedInput } from '../../../src/core/errors.ts';
import { formBody } from '../../../src/core/safe-parse.ts';
import { CallTracker, type CallEvent } from '../../../src/kit/telephony/call-tracker.ts';
import { inboundOnlySend } from '../../../src/kit/outbound/inbound-only.ts';
import { TwilioApi } from './api.ts';
import { dialEvents, incomingEvents, statusEvents, type Params } from './events.ts';
import type { TwilioVoiceOptions } from './options.ts';
import { formParams, SIGNATURE_HEADER, signedUrl, validSignature } from './signature.ts';
import { dialTwiml, emptyTwiml, hangupTwiml, voicemailTwiml, type Flow } from './twiml.ts';

const XML = { 'content-type': 'text/xml; charset=utf-8' };
const twimlResponse = (body: string): HttpResponse => ({ status: 200, body, headers: XML });

/**
 * Twilio Voice: the Voice URL (ring agents, then voicemail), the Dial action, status callbacks,
 * recordings and transcriptions, all under /webhooks/{channelId}, all signed by Twilio.
 */
export function createTwilioVoiceChannel(options: TwilioVoiceOptions, ctx: ChannelContext): ChannelInstance {
  const publicUrl = options.publicUrl ?? ctx.publicUrl;
  if (!publicUrl) {
    throw new Error(`channel '${ctx.channelId}' (twilio-voice) needs server.publicUrl or its own publicUrl: Twilio signs the exact URL it calls`);
  }
  const log = ctx.log.child({ kind: 'twilio-voice' });
  const api = new TwilioApi(options);
  const calls = new CallTracker({ kv: ctx.kv, accept: ctx.accept, log, callLog: options.callLog, lookup: (sid) => api.lookupCall(sid) });
  const flow: Flow = { options, base: `${publicUrl}/webhooks/${ctx.channelId}` };
  const voicemailOn = options.voicemail.enabled;

  // 401, as every channel answers a wrong secret (the channel contract).
  const refused = { status: 401, body: { error: 'missing or wrong X-Twilio-Signature for this URL' } };

  /** Signed by Twilio (checked by the HTTP layer before parsing), then `react` decides the events and the answer. A call's events are stored before Twilio hears back. */
  function route(path: string, react: (p: Params, at: string, req: InboundRequest) => { callId?: string; events: CallEvent[]; twiml?: string }): RouteSpec {
    return {
      method: 'POST',
      path,
      guard: {
        head: (req) => (req.headers[SIGNATURE_HEADER] ? undefined : refused),
        body: (req, raw) => (validSignature(options.authToken, req, raw, signedUrl(publicUrl!, ctx.channelId, path, req.url)) ? undefined : refused),
      },
      async handler(req) {
        const p = lastValues(req);
        if (!p['CallSid'] || (p['AccountSid'] && p['AccountSid'] !== options.accountSid)) {
          return { status: 400, body: { error: p['CallSid'] ? 'AccountSid is not this channel\'s account' : 'CallSid is required' } };
        }
        const at = new Date().toISOString();
        const out = react(p, at, req);
        if (out.events.length > 0) {
          try {
            await calls.handle(out.callId ?? p['CallSid'], out.events);
          } catch (err) {
            const bad = refusedInput(err);
            if (bad) return bad;
            // A live call must go on: its TwiML is answered anyway (only the call's bookkeeping suffered).
            if (out.twiml) {
              log.error({ err, callSid: p['CallSid'], path: path || '/' }, 'Twilio call state could not be stored; the call goes on');
              return twimlResponse(out.twiml);
            }
            log.error({ err, callSid: p['CallSid'], path: path || '/' }, 'Twilio event could not be stored; Twilio may retry');
            return { status: 503, body: { error: 'could not store the event; retry later' } };
          }
        }
        return twimlResponse(out.twiml ?? emptyTwiml());
      },
    };
  }

  const routes: RouteSpec[] = [
    // The Voice URL: ring the agents, or go straight to voicemail.
    route('', (p, at) => {
      const events = incomingEvents(p, at);
      if (options.dial) return { events: [...events, { at, type: 'dialed' }], twiml: dialTwiml(flow) };
      if (voicemailOn) return { events: [...events, { at, type: 'voicemail' }], twiml: voicemailTwiml(flow) };
      return { events, twiml: hangupTwiml() };
    }),
    route('/dial', (p, at) => {
      const { answered, events } = dialEvents(p, at);
      if (answered || !voicemailOn) return { events, twiml: hangupTwiml() };
      return { events: [...events, { at, type: 'voicemail' }], twiml: voicemailTwiml(flow) };
    }),
    route('/voicemail', (_p, at) => ({ events: [{ at, type: 'voicemail' }], twiml: hangupTwiml() })),
    route('/status', (p, at, req) => {
      const s = statusEvents(p, at, req.query['agent']);
      return s ?? { events: [] };
    }),
    route('/recording', (p, at) => {
      if (p['RecordingStatus'] && p['RecordingStatus'] !== 'completed') {
        log.warn({ callSid: p['CallSid'], status: p['RecordingStatus'] }, 'Twilio recording not available');
        return { events: [] };
      }
      if (!p['RecordingSid'] || !p['RecordingUrl']) return { events: [] };
      const source = `${p['RecordingUrl']}.${options.recordingFormat}`;
      const duration = p['RecordingDuration'] && /^\d+$/.test(p['RecordingDuration']) ? Number(p['RecordingDuration']) : undefined;
      const origin = p['RecordingSource'];
      return {
        events: [{
          at,
          type: 'recording',
          recording: {
            id: p['RecordingSid'],
            ref: { name: `recording-${p['RecordingSid']}.${options.recordingFormat}`, mime: options.recordingFormat === 'mp3' ? 'audio/mpeg' : 'audio/wav', source },
            ...(duration !== undefined ? { durationSec: duration } : {}),
            ...(origin === 'RecordVerb' ? { voicemail: true } : origin === 'DialVerb' ? { voicemail: false } : {}),
          },
        }],
      };
    }),
    route('/transcription', (p, at) => {
      if (p['TranscriptionStatus'] !== 'completed' || !p['TranscriptionText'] || !p['TranscriptionSid']) return { events: [] };
      return { events: [{ at, type: 'transcript', transcript: { id: p['TranscriptionSid'], text: p['TranscriptionText'], voicemail: true } }] };
    }),
  ];

  return {
    routes,
    send: inboundOnlySend(`channel '${ctx.channelId}' (phone)`),
    fetchAttachment: (ref) => api.fetchRecording(ref),
    async check() {
      await api.lookupCall('CA00000000000000000000000000000000');
      return `Twilio account ${options.accountSid} accepted the credentials`;
    },
  };
}

/** The POST parameters, as the signature read them (a repeated one: its last value); parsed once, by the HTTP layer, when sent as a form. */
function lastValues(req: InboundRequest): Params {
  const fields = formBody(req);
  if (!fields.ok) return formParams(req.rawBody);
  const out = Object.create(null) as Params;
  for (const [k, v] of Object.entries(fields.value)) out[k] = Array.isArray(v) ? v.at(-1)! : v;
  return out;
}
