import { ulid } from 'ulid';
import type { ChannelContext, HttpResponse, InboundRequest, RouteGuard, UploadedFile } from '../../../src/core/connector.ts';
import type { AttachmentRef } from '../../../src/core/message.ts';
import type { CaptchaVerifier } from './captcha.ts';
import { corsFor, preflightHeaders } from './cors.ts';
import { checkFields } from './fields.ts';
import { checkFiles } from './files.ts';
import type { KeyedLock } from '../../../src/kit/keyed-lock.ts';
import { formDraft } from './normalize.ts';
import { resolveMapping, SUBMISSION_ID_FIELD, type WebformOptions } from './options.ts';
import type { TokenBucket } from './rate-limit.ts';
import { bodyFields, browserLocale, header } from './request.ts';
import { responder, type Responder } from './respond.ts';
import { fingerprint, submissionIdOf, type SubmissionLedger } from './submission.ts';

/**
 * POST /forms/{channelId}: origin → rate limit (both in the guard, before the body is read) → honeypot → field and file checks → resubmit
 * check → captcha → store files → accept → answer. Nothing is answered as a success before
 * accept() resolved, and no error ever reaches the caller as a stack trace.
 */

export interface FormDeps {
  options: WebformOptions;
  ctx: ChannelContext;
  ledger: SubmissionLedger;
  locks: KeyedLock;
  captcha?: CaptchaVerifier;
}

/** Captcha tokens are at most 2 KB; anything far longer is not one. */
const MAX_TOKEN_CHARS = 8192;

export function submitHandler(deps: FormDeps): (req: InboundRequest) => Promise<HttpResponse> {
  const { options, ctx, captcha } = deps;
  const mapping = resolveMapping(options.mapping);
  const labels = Object.fromEntries(Object.entries(options.fields).flatMap(([n, s]) => (s.label ? [[n, s.label]] : [])));
  const control = new Set([SUBMISSION_ID_FIELD, options.honeypot, ...(captcha ? [captcha.field] : [])]);

  async function handle(req: InboundRequest, reply: Responder): Promise<HttpResponse> {
    const fields = bodyFields(req);
    if (!fields) return reply.failure(400, { error: 'invalid_body', message: 'Expected form fields or a JSON object.' });

    const sid = submissionIdOf(fields, header(req, 'idempotency-key'));
    if (isFilled(fields[options.honeypot])) {
      ctx.log.info({ channelId: ctx.channelId }, 'webform: honeypot field filled; submission dropped');
      return reply.success({ ok: true, id: ulid(), submissionId: sid.ok ? sid.id : ulid(), message: options.successMessage });
    }

    const checked = checkFields(options.fields, fields, control);
    const files = checkFiles(req.files, options.files);
    const errors = { ...checked.errors, ...files.errors };
    if (!sid.ok) errors[sid.field] = sid.error;
    const token = captcha ? fields[captcha.field] : undefined;
    if (captcha && (typeof token !== 'string' || token.trim() === '')) errors[captcha.field] = 'is required: complete the captcha';
    else if (captcha && typeof token === 'string' && token.length > MAX_TOKEN_CHARS) errors[captcha.field] = 'is not a captcha token';
    if (!sid.ok || Object.keys(errors).length > 0) {
      const names = Object.keys(errors).map((n) => labels[n] ?? n);
      return reply.failure(400, { error: 'validation_failed', message: `Please check: ${names.join(', ')}.`, fields: errors });
    }
    if (checked.ignored.length > 0) ctx.log.debug({ ignored: checked.ignored.slice(0, 50) }, 'webform: undeclared fields ignored');

    // One submission id at a time: a double click must not verify one captcha token twice.
    return deps.locks.run(sid.id, () =>
      accept(req, reply, { ...sid, values: checked.values, ignored: checked.ignored, files: files.files, token: typeof token === 'string' ? token.trim() : undefined }),
    );
  }

  interface Checked {
    id: string;
    supplied: boolean;
    field: string;
    values: Record<string, string>;
    ignored: string[];
    files: UploadedFile[];
    token?: string;
  }

  async function accept(req: InboundRequest, reply: Responder, s: Checked): Promise<HttpResponse> {
    const print = fingerprint(s.values, s.files);
    const success = (id: string, duplicate: boolean) =>
      reply.success({ ok: true, id, submissionId: s.id, message: options.successMessage, ...(duplicate ? { duplicate: true as const } : {}) });

    if (s.supplied) {
      const seen = await deps.ledger.find(s.id).catch((err: unknown) => {
        ctx.log.warn({ err, submissionId: s.id }, 'webform: could not read the submission record; accept() still dedupes');
        return undefined;
      });
      if (seen && seen.fingerprint !== print) {
        return reply.failure(409, {
          error: 'submission_id_reused',
          message: 'This submission id was already used for a different message; send it with a new id.',
          fields: { [s.field]: 'was already used for a different submission' },
        });
      }
      if (seen) return success(seen.messageId, true);
    }

    if (captcha && s.token !== undefined) {
      const verdict = await captcha.verify(s.token, req.ip);
      if (verdict.outcome === 'unavailable') {
        ctx.log.warn({ provider: captcha.provider, reason: verdict.reason }, 'webform: could not verify captcha; refusing the submission');
        return reply.failure(503, { error: 'captcha_unavailable', message: 'Could not verify captcha; please try again in a minute.' }, { 'retry-after': '60' });
      }
      if (verdict.outcome === 'failed') {
        const codes = verdict.codes.length ? ` (${verdict.codes.join(', ')})` : '';
        return reply.failure(400, {
          error: 'captcha_failed',
          message: 'The captcha check failed; please complete it again.',
          fields: { [captcha.field]: `was not accepted${codes}` },
        });
      }
    }

    const stored: string[] = [];
    let outcome;
    try {
      const attachments: AttachmentRef[] = [];
      for (const f of s.files) {
        const key = await ctx.blobs.put(f.data);
        stored.push(key);
        attachments.push({ name: f.filename, mime: f.mime || 'application/octet-stream', size: f.data.length, source: key });
      }
      const userAgent = header(req, 'user-agent');
      const draft = formDraft({
        formId: ctx.channelId,
        submissionId: s.id,
        values: s.values,
        specs: options.fields,
        mapping,
        attachments,
        locale: browserLocale(req),
        meta: { remoteIp: req.ip, ...(userAgent ? { userAgent } : {}) },
        raw: {
          fields: s.values,
          ignoredFields: s.ignored.slice(0, 50),
          files: s.files.map((f) => ({ field: f.field, filename: f.filename, mime: f.mime, size: f.data.length })),
        },
        receivedAt: new Date(),
      });
      [outcome] = await ctx.accept([draft]);
      if (!outcome) throw new Error('accept() returned no outcome');
    } catch (err) {
      await dropBlobs(ctx, stored);
      ctx.log.error({ err, submissionId: s.id }, 'webform: could not store the submission');
      return reply.failure(503, { error: 'unavailable', message: 'We could not save your message right now; please try again.' }, { 'retry-after': '30' });
    }

    // The first submission owns its files; a duplicate's copies belong to nothing.
    if (outcome.duplicate) await dropBlobs(ctx, stored);
    if (s.supplied) {
      await deps.ledger.remember(s.id, { messageId: outcome.id, fingerprint: print }).catch((err: unknown) => {
        ctx.log.warn({ err, submissionId: s.id }, 'webform: could not record the submission id; a resubmit will be deduped by accept()');
      });
    }
    ctx.log.info({ submissionId: s.id, messageId: outcome.id, duplicate: outcome.duplicate, files: s.files.length }, 'webform: submission accepted');
    return success(outcome.id, outcome.duplicate);
  }

  return async (req) => {
    const reply = responder(req, { redirect: options.redirect, headers: corsFor(options.cors?.origins, header(req, 'origin')).headers, labels });
    try {
      return await handle(req, reply);
    } catch (err) {
      ctx.log.error({ err }, 'webform: submission failed unexpectedly');
      return reply.failure(500, { error: 'internal_error', message: 'Something went wrong on our side; please try again.' });
    }
  };
}

/**
 * Before the body is read: the origin allow-list and the per-IP rate limit. A form has no secret
 * (it is public by design), so these are what keep a flood of uploads from being read at all.
 */
export function submitGuard(options: WebformOptions, limiter: TokenBucket): RouteGuard {
  const labels = Object.fromEntries(Object.entries(options.fields).flatMap(([n, s]) => (s.label ? [[n, s.label]] : [])));
  return {
    head(req) {
      const cors = corsFor(options.cors?.origins, header(req, 'origin'));
      const reply = responder(req, { redirect: options.redirect, headers: cors.headers, labels });
      if (!cors.allowed) {
        return reply.failure(403, { error: 'origin_not_allowed', message: 'This form does not accept submissions from this site.' });
      }
      const limit = limiter.take(req.ip);
      if (!limit.ok) {
        return reply.failure(
          429,
          { error: 'rate_limited', message: `Too many submissions; please try again in ${limit.retryAfterSec} seconds.`, retryAfterSec: limit.retryAfterSec },
          { 'retry-after': String(limit.retryAfterSec) },
        );
      }
      return undefined;
    },
  };
}

/** OPTIONS /forms/{channelId}: the browser asks before a JSON or custom-header POST. */
export function preflightHandler(options: WebformOptions): (req: InboundRequest) => Promise<HttpResponse> {
  return async (req) => {
    const cors = corsFor(options.cors?.origins, header(req, 'origin'));
    if (!cors.headers['access-control-allow-origin']) {
      return { status: 403, headers: cors.headers, body: { error: 'origin_not_allowed', message: 'Cross-origin requests from this site are not allowed.' } };
    }
    return { status: 204, headers: { ...cors.headers, ...preflightHeaders() } };
  };
}

function isFilled(value: unknown): boolean {
  return value !== undefined && value !== null && String(value).trim() !== '';
}

async function dropBlobs(ctx: ChannelContext, keys: string[]): Promise<void> {
  for (const key of keys) {
    await ctx.blobs.delete(key).catch((err: unknown) => ctx.log.warn({ err, key }, 'webform: could not delete an unused upload'));
  }
}
