import { z } from 'zod';
import type { FetchedFile } from '../../../src/core/connector.ts';
import type { AttachmentRef } from '../../../src/core/message.ts';
import { DeliveryError, errorFromNetwork, errorFromResponse } from '../../../src/core/errors.ts';
import { fetchFile } from '../../../src/kit/fetch/fetch-file.ts';
import type { CallState } from '../../../src/kit/telephony/call-tracker.ts';
import { directionOf } from './events.ts';
import type { TwilioVoiceOptions } from './options.ts';

const CallResource = z.object({ from: z.string().nullish(), to: z.string().nullish(), direction: z.string().nullish() });

/** The few Twilio REST calls the channel makes, with the account's credentials. */
export class TwilioApi {
  readonly #o: TwilioVoiceOptions;
  readonly #auth: string;

  constructor(o: TwilioVoiceOptions) {
    this.#o = o;
    this.#auth = `Basic ${Buffer.from(`${o.accountSid}:${o.authToken}`).toString('base64')}`;
  }

  #accountUrl(path: string): string {
    return `${this.#o.apiBaseUrl}/2010-04-01/Accounts/${this.#o.accountSid}${path}`;
  }

  /** Who was on a call (for a recording that arrived before anything else about its call). */
  async lookupCall(callSid: string): Promise<Pick<CallState, 'direction' | 'from' | 'to'> | undefined> {
    const what = `look up call ${callSid}`;
    let res: Response;
    try {
      res = await fetch(this.#accountUrl(`/Calls/${encodeURIComponent(callSid)}.json`), {
        headers: { authorization: this.#auth, accept: 'application/json' },
        signal: AbortSignal.timeout(this.#o.timeoutMs),
      });
    } catch (err) {
      throw errorFromNetwork(what, err);
    }
    if (res.status === 404) return undefined;
    if (!res.ok) throw errorFromResponse(what, res.status, await res.text().catch(() => ''), res.headers);
    const call = CallResource.parse(await res.json());
    return { from: call.from ?? undefined, to: call.to ?? undefined, direction: directionOf(call.direction ?? undefined) };
  }

  /** The recording's media, with the account's credentials, which go nowhere but the API's own host. */
  async fetchRecording(ref: AttachmentRef): Promise<FetchedFile> {
    const api = new URL(this.#o.apiBaseUrl);
    let url: URL;
    try {
      url = new URL(ref.source);
    } catch {
      throw new DeliveryError(`recording ${ref.name}: not a URL`, { kind: 'permanent' });
    }
    if (url.origin !== api.origin) {
      throw new DeliveryError(`recording ${ref.name}: ${url.origin} is not the Twilio API (${api.origin}); not sending credentials there`, { kind: 'permanent' });
    }
    // A redirect (to Twilio's media storage) goes without the credentials, to public addresses only.
    return fetchFile(url.toString(), {
      maxBytes: this.#o.maxRecordingBytes,
      timeoutMs: this.#o.timeoutMs,
      trustedOrigins: [api.origin],
      credentials: { origins: [api.origin], headers: { authorization: this.#auth } },
    }, { name: ref.name, mime: ref.mime });
  }
}
