import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { definition, WebformOptions } from '../../connectors/channels/webform/index.ts';
import { mimeMatches } from '../../connectors/channels/webform/files.ts';
import { TokenBucket } from '../../connectors/channels/webform/rate-limit.ts';

function issues(input: unknown): { path: string; message: string }[] {
  const r = WebformOptions.safeParse(input);
  if (r.success) return [];
  return r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
}

describe('webform options', () => {
  it('fills the documented defaults', () => {
    const o = WebformOptions.parse({ fields: { message: { required: true } } });
    expect(o.fields.message).toEqual({ type: 'string', required: true, maxLength: 5000 });
    expect(o.honeypot).toBe('_gotcha');
    expect(o.rateLimit).toEqual({ perMinute: 10 });
    expect(o.files).toEqual({ maxFiles: 5, maxFileBytes: 10 * 1024 * 1024 });
    expect(o.successMessage).toBe('Thank you, we received your message.');
    expect(o.mapping).toEqual({});
  });

  it('works with no options at all: name, email and a required message', () => {
    const o = WebformOptions.parse({});
    expect(Object.keys(o.fields)).toEqual(['name', 'email', 'message']);
    expect(o.fields.email?.type).toBe('email');
    expect(o.fields.message?.required).toBe(true);
  });

  it('names the option on a typo or a bad value', () => {
    expect(issues({ fields: { topic: { type: 'select' } } })).toEqual([{ path: 'fields.topic.type', message: expect.any(String) }]);
    expect(issues({ fieldz: {} })).toEqual([{ path: '', message: expect.stringContaining('fieldz') }]);
    expect(issues({ cors: { origins: ['https://casino.example/contact'] } })).toEqual([
      { path: 'cors.origins.0', message: expect.stringContaining('scheme://host') },
    ]);
    expect(issues({ redirect: 'javascript:alert(1)' })).toEqual([{ path: 'redirect', message: expect.any(String) }]);
    expect(issues({ captcha: { provider: 'recaptcha', secret: 's' } })).toEqual([{ path: 'captcha.provider', message: expect.any(String) }]);
  });

  it('refuses a mapping to a field that is not declared', () => {
    expect(issues({ fields: { message: {} }, mapping: { subject: 'topic' } })).toEqual([
      { path: 'mapping.subject', message: 'field "topic" is not declared in fields' },
    ]);
  });

  it('refuses declared fields that collide with the control fields', () => {
    const found = issues({
      fields: { submissionId: {}, website: {}, 'cf-turnstile-response': {}, message: {} },
      honeypot: 'website',
      captcha: { provider: 'turnstile', secret: 's' },
    });
    expect(found.map((i) => i.path).sort()).toEqual(['fields.cf-turnstile-response', 'fields.submissionId', 'fields.website']);
    expect(found.every((i) => i.message.includes('reserved'))).toBe(true);
  });

  it('declares captcha.secret as a secret and describes its options for the config schema', () => {
    expect(definition.kind).toBe('webform');
    expect(definition.secrets).toEqual(['captcha.secret']);
    const schema = JSON.stringify(z.toJSONSchema(WebformOptions, { io: 'input' }));
    expect(schema).toContain('submissions per minute per client IP');
    expect(schema).toContain('hidden field that humans leave empty');
  });
});

describe('webform token bucket', () => {
  it('refills at the per-minute rate', () => {
    let now = 0;
    const bucket = new TokenBucket(2, 2, () => now);
    expect(bucket.take('ip').ok).toBe(true);
    expect(bucket.take('ip').ok).toBe(true);
    expect(bucket.take('ip')).toEqual({ ok: false, retryAfterSec: 30 });
    now += 30_000;
    expect(bucket.take('ip').ok).toBe(true);
    expect(bucket.take('ip').ok).toBe(false);
  });
});

describe('webform mime patterns', () => {
  it('matches exact types, wildcards and ignores parameters and case', () => {
    expect(mimeMatches('image/*', 'image/PNG')).toBe(true);
    expect(mimeMatches('image/*', 'imagex/png')).toBe(false);
    expect(mimeMatches('application/pdf', 'application/pdf; name=x.pdf')).toBe(true);
    expect(mimeMatches('application/pdf', 'application/pdfx')).toBe(false);
    expect(mimeMatches('*/*', 'text/plain')).toBe(true);
  });
});
