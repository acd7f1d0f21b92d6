import { DEFAULT_VERIFY_URL, captchaField, type CaptchaOptions } from './options.ts';

/**
 * Server-side verification of a Turnstile or hCaptcha token (both speak the same siteverify
 * protocol). The secret only travels in the POST body, never in a URL or a log line.
 */

export type CaptchaVerdict =
  | { outcome: 'passed' }
  /** The customer's token was refused (expired, reused, forged). */
  | { outcome: 'failed'; codes: string[] }
  /** We could not get an answer we can trust: fail closed, and it is not the customer's fault. */
  | { outcome: 'unavailable'; reason: string };

export interface CaptchaVerifier {
  readonly provider: CaptchaOptions['provider'];
  /** The form field that carries the token. */
  readonly field: string;
  verify(token: string, remoteIp?: string): Promise<CaptchaVerdict>;
}

/** Codes that mean our configuration is wrong, not the customer's answer. */
const OUR_FAULT = new Set(['missing-input-secret', 'invalid-input-secret', 'sitekey-secret-mismatch']);
const TIMEOUT_MS = 10_000;

export function captchaVerifier(options: CaptchaOptions, fetchImpl: typeof fetch = fetch): CaptchaVerifier {
  const url = options.verifyUrl ?? DEFAULT_VERIFY_URL[options.provider];
  return {
    provider: options.provider,
    field: captchaField(options),
    async verify(token, remoteIp) {
      const form = new URLSearchParams({ secret: options.secret, response: token });
      if (remoteIp) form.set('remoteip', remoteIp);
      let res: Response;
      let text: string;
      try {
        res = await fetchImpl(url, { method: 'POST', body: form, signal: AbortSignal.timeout(TIMEOUT_MS) });
        text = await res.text();
      } catch (err) {
        return { outcome: 'unavailable', reason: `siteverify unreachable: ${err instanceof Error ? err.message : String(err)}` };
      }
      if (!res.ok) return { outcome: 'unavailable', reason: `siteverify answered ${res.status}: ${text.slice(0, 500)}` };
      const answer = parseAnswer(text);
      if (!answer) return { outcome: 'unavailable', reason: `siteverify answered something unexpected: ${text.slice(0, 500)}` };
      if (answer.success) return { outcome: 'passed' };
      if (answer.codes.some((c) => OUR_FAULT.has(c))) {
        return { outcome: 'unavailable', reason: `${options.provider} refused our secret: ${answer.codes.join(', ')}` };
      }
      return { outcome: 'failed', codes: answer.codes };
    },
  };
}

function parseAnswer(text: string): { success: boolean; codes: string[] } | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null || !('success' in json) || typeof json.success !== 'boolean') return undefined;
  const raw = 'error-codes' in json ? json['error-codes'] : undefined;
  const codes = Array.isArray(raw) ? raw.filter((c): c is string => typeof c === 'string') : [];
  return { success: json.success, codes };
}

/** `switchboard check --online`: a dummy token tells a rejected secret apart from a rejected token. */
export async function checkCaptchaSecret(verifier: CaptchaVerifier): Promise<string> {
  const verdict = await verifier.verify('switchboard-credential-check');
  if (verdict.outcome === 'unavailable') throw new Error(`captcha (${verifier.provider}): ${verdict.reason}`);
  return `captcha (${verifier.provider}): secret accepted`;
}
