import twilio from 'twilio';
import type { TwilioVoiceOptions } from './options.ts';

/** TwiML for the call flow the gateway runs when Twilio's Voice URL points at it: ring agents, then voicemail. */
export interface Flow {
  options: TwilioVoiceOptions;
  /** `${publicUrl}/webhooks/${channelId}`: where Twilio sends the flow's callbacks. */
  base: string;
}

export function targetOf(t: string | { to: string; agent?: string }): { to: string; agent: string } {
  return typeof t === 'string' ? { to: t, agent: t } : { to: t.to, agent: t.agent ?? t.to };
}

export function dialTwiml(flow: Flow): string {
  const dial = flow.options.dial!;
  const r = new twilio.twiml.VoiceResponse();
  const d = r.dial({
    timeout: dial.timeoutSec,
    action: `${flow.base}/dial`,
    method: 'POST',
    ...(dial.callerId ? { callerId: dial.callerId } : {}),
    ...(dial.record ? { record: 'record-from-answer-dual' as const, recordingStatusCallback: `${flow.base}/recording` } : {}),
  });
  for (const t of dial.to.map(targetOf)) {
    // Each target reports its own answer, so the call log can say who took the call.
    const cb = { statusCallback: `${flow.base}/status?agent=${encodeURIComponent(t.agent)}`, statusCallbackEvent: ['answered' as const] };
    if (/^client:/i.test(t.to)) d.client(cb, t.to.slice(7));
    else if (/^sips?:/i.test(t.to)) d.sip(cb, t.to);
    else d.number(cb, t.to);
  }
  return r.toString();
}

export function voicemailTwiml(flow: Flow): string {
  const vm = flow.options.voicemail;
  const r = new twilio.twiml.VoiceResponse();
  if (vm.playUrl) r.play(vm.playUrl);
  else r.say({ language: vm.language as 'en-US' }, vm.greeting);
  r.record({
    maxLength: vm.maxLengthSec,
    playBeep: true,
    action: `${flow.base}/voicemail`,
    method: 'POST',
    recordingStatusCallback: `${flow.base}/recording`,
    ...(vm.transcribe ? { transcribe: true, transcribeCallback: `${flow.base}/transcription` } : {}),
  });
  return r.toString();
}

export function hangupTwiml(): string {
  const r = new twilio.twiml.VoiceResponse();
  r.hangup();
  return r.toString();
}

export function emptyTwiml(): string {
  return new twilio.twiml.VoiceResponse().toString();
}
