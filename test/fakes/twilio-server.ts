import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import twilio from 'twilio';

/**
 * A fake Twilio REST API on 127.0.0.1 for what a voice channel reads back: call resources
 * (`/2010-04-01/Accounts/{AC}/Calls/{CA}.json`) and recording media
 * (`…/Recordings/{RE}.mp3|.wav`), behind HTTP Basic auth with the Account SID and Auth Token.
 * `webhook()` builds a request the way Twilio sends one, signed with the twilio package's own helper.
 */

export interface FakeTwilio {
  /** The channel's apiBaseUrl. */
  url: string;
  requests: { path: string; authorized: boolean }[];
  addCall(sid: string, call: { from: string; to: string; direction: string }): void;
  addRecording(sid: string, data: Buffer): void;
  /** The recording's media answers a redirect to `location` (Twilio's media storage, or somewhere it must not go). */
  redirectRecording(sid: string, location: string): void;
  /** The RecordingUrl Twilio would put in a callback (no extension). */
  recordingUrl(sid: string): string;
  /** Forgets what the last test left: requests, calls, recordings. */
  reset(): void;
  close(): Promise<void>;
}

export async function startFakeTwilio(opts: { accountSid: string; authToken: string }): Promise<FakeTwilio> {
  const calls = new Map<string, { from: string; to: string; direction: string }>();
  const recordings = new Map<string, Buffer>();
  const redirects = new Map<string, string>();
  const requests: FakeTwilio['requests'] = [];
  const basic = `Basic ${Buffer.from(`${opts.accountSid}:${opts.authToken}`).toString('base64')}`;
  const prefix = `/2010-04-01/Accounts/${opts.accountSid}`;

  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0] ?? '';
    const authorized = req.headers.authorization === basic;
    requests.push({ path, authorized });
    const json = (status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (!authorized) return json(401, { code: 20003, message: 'Authenticate', more_info: 'https://www.twilio.com/docs/errors/20003', status: 401 });
    let m: RegExpExecArray | null;
    if ((m = new RegExp(`^${prefix}/Calls/(CA\\w+)\\.json$`).exec(path))) {
      const call = calls.get(m[1]!);
      if (!call) return json(404, { code: 20404, message: `The requested resource ${path} was not found`, status: 404 });
      return json(200, { sid: m[1], account_sid: opts.accountSid, ...call, status: 'completed' });
    }
    if ((m = new RegExp(`^${prefix}/Recordings/(RE\\w+)\\.(mp3|wav)$`).exec(path))) {
      const location = redirects.get(m[1]!);
      if (location) return res.writeHead(302, { location }).end();
      const data = recordings.get(m[1]!);
      if (!data) return json(404, { code: 20404, message: 'not found', status: 404 });
      return res.writeHead(200, { 'content-type': m[2] === 'mp3' ? 'audio/mpeg' : 'audio/x-wav', 'content-length': String(data.length) }).end(data);
    }
    json(404, { code: 20404, message: 'not found', status: 404 });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    addCall: (sid, call) => void calls.set(sid, call),
    addRecording: (sid, data) => void recordings.set(sid, data),
    redirectRecording: (sid, location) => void redirects.set(sid, location),
    recordingUrl: (sid) => `${url}${prefix}/Recordings/${sid}`,
    reset() {
      requests.length = 0;
      calls.clear();
      recordings.clear();
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** A Twilio webhook: the form body and the X-Twilio-Signature the twilio package computes for `signedUrl`. */
export function twilioWebhook(authToken: string, signedUrl: string, params: Record<string, string>): { body: string; headers: Record<string, string> } {
  return {
    body: new URLSearchParams(params).toString(),
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-twilio-signature': twilio.getExpectedTwilioSignature(authToken, signedUrl, params),
    },
  };
}
