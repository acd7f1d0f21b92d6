import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChannelInstance, InboundRequest, UploadedFile } from '../../src/core/connector.ts';
import { DeliveryError } from '../../src/core/errors.ts';
import { definition, WebformOptions } from '../../connectors/channels/webform/index.ts';
import { channelContext, type FakeChannelContext } from '../fixtures/channel-context.ts';
import { callRoute } from '../fixtures/route.ts';

/** What the contract checks for every channel (ack after store, a resubmit is a no-op, 503, bad fields) is in test/contract/channels/webform.test.ts. */
async function setup(options: unknown = {}, fake: FakeChannelContext = channelContext({ channelId: 'contact' })) {
  const channel = await definition.create(WebformOptions.parse(options), fake.ctx);
  const route = (method: string) => {
    const r = channel.routes?.find((x) => x.method === method);
    if (!r) throw new Error(`no ${method} route`);
    expect(r.prefix).toBe('forms');
    expect(r.path).toBe('');
    return r;
  };
  return { ...fake, channel, post: (req: InboundRequest) => callRoute(route('POST'), req), preflight: route('OPTIONS').handler, postRoute: route('POST') };
}

const IP = '203.0.113.7';

function jsonPost(body: unknown, headers: Record<string, string> = {}, extra: Partial<InboundRequest> = {}): InboundRequest {
  return {
    method: 'POST',
    url: '',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    query: {},
    rawBody: Buffer.from(JSON.stringify(body) ?? ''),
    body,
    files: [],
    ip: IP,
    ...extra,
  };
}

function formPost(
  fields: Record<string, string>,
  opts: { multipart?: boolean; files?: UploadedFile[]; headers?: Record<string, string>; ip?: string } = {},
): InboundRequest {
  const type = opts.multipart || opts.files ? 'multipart/form-data; boundary=x' : 'application/x-www-form-urlencoded';
  return {
    method: 'POST',
    url: '',
    headers: { 'content-type': type, ...opts.headers },
    query: {},
    rawBody: Buffer.from(new URLSearchParams(fields).toString()),
    body: fields,
    files: opts.files ?? [],
    ip: opts.ip ?? IP,
  };
}

function file(filename: string, mime: string, data: Buffer | string, field = 'attachment'): UploadedFile {
  return { field, filename, mime, data: Buffer.isBuffer(data) ? data : Buffer.from(data) };
}

const FIELDS = {
  name: { label: 'Your name' },
  email: { type: 'email' },
  phone: { type: 'phone' },
  message: { required: true, label: 'Message' },
  topic: { enum: ['payments', 'verification', 'bonus', 'other'] },
  amount: { type: 'number' },
  consent: { type: 'boolean', required: true },
};

const GOOD = {
  name: 'Dilnoza',
  email: 'Dilnoza@Example.com',
  message: 'My withdrawal is stuck',
  topic: 'payments',
  amount: '150.5',
  consent: 'on',
};

// ------------------------------------------------------------------ a local siteverify

interface Siteverify {
  url: string;
  requests: URLSearchParams[];
  answer(status: number, body: string): void;
  close(): Promise<void>;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

async function siteverify(): Promise<Siteverify> {
  const requests: URLSearchParams[] = [];
  let reply = { status: 200, body: JSON.stringify({ success: true, 'error-codes': [] }) };
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push(new URLSearchParams(Buffer.concat(chunks).toString()));
      res.writeHead(reply.status, { 'content-type': 'application/json' }).end(reply.body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/turnstile/v0/siteverify`,
    requests,
    answer: (status, body) => {
      reply = { status, body };
    },
    close: () => new Promise((r) => server.close(() => r())),
  };
}

const SECRET = '0x4AAAAAAAsecret-never-shown';

// ------------------------------------------------------------------ tests

describe('webform: accepting a submission', () => {
  it('turns a JSON submission into one form draft with the mapped fields', async () => {
    const t = await setup({ fields: FIELDS, mapping: { subject: 'topic' } });
    const res = await t.post(
      jsonPost({ ...GOOD, submissionId: 'sub-12345678', utm_source: 'ads' }, { 'accept-language': 'ru-RU,ru;q=0.9', 'user-agent': 'Firefox' }),
    );

    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true, id: 'id-sub-12345678', submissionId: 'sub-12345678', message: 'Thank you, we received your message.' });
    expect(t.accepted).toHaveLength(1);
    const d = t.accepted[0]!;
    expect(d.kind).toBe('form');
    expect(d.externalId).toBe('sub-12345678');
    expect(d.dedupeKey).toBe('sub-12345678');
    expect(d.conversation).toEqual({ externalId: 'sub-12345678', subject: 'payments' });
    expect(d.sender).toEqual({ externalId: 'dilnoza@example.com', email: 'Dilnoza@Example.com', displayName: 'Dilnoza', locale: 'ru' });
    expect(d.text).toBe('My withdrawal is stuck');
    // Undeclared fields (utm_source) and control fields (submissionId) stay out.
    expect(d.form).toEqual({
      formId: 'contact',
      fields: { name: 'Dilnoza', email: 'Dilnoza@Example.com', message: 'My withdrawal is stuck', topic: 'payments', amount: '150.5', consent: 'true' },
    });
    expect(d.raw).toMatchObject({ ignoredFields: ['utm_source'] });
    expect(d.meta).toEqual({ remoteIp: IP, userAgent: 'Firefox' });
    expect(Number.isNaN(Date.parse(d.occurredAt))).toBe(false);
    expect(d.attachments).toEqual([]);
  });

  it('accepts urlencoded fields from a script and answers JSON when asked to', async () => {
    const t = await setup({ fields: FIELDS });
    const res = await t.post(formPost({ ...GOOD, phone: '+998 (90) 123-45-67' }, { headers: { accept: 'application/json' } }));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: true, id: expect.stringMatching(/^id-/) });
    expect(t.accepted[0]?.sender).toMatchObject({ externalId: 'dilnoza@example.com', phone: '+998901234567' });
    expect(t.accepted[0]?.form?.fields.phone).toBe('+998 (90) 123-45-67');
  });

  it('falls back to phone, then an anonymous id, for the sender', async () => {
    const t = await setup({ fields: FIELDS });
    await t.post(jsonPost({ message: 'call me', phone: '8 800 555 35 35', consent: true }));
    await t.post(jsonPost({ message: 'who am I', consent: true, submissionId: 'anon-0000001' }));
    expect(t.accepted[0]?.sender.externalId).toBe('88005553535');
    expect(t.accepted[1]?.sender).toEqual({ externalId: 'anon:anon-0000001' });
  });

  it('without a message field, the text lists the fields by label so the agent has something to read', async () => {
    const t = await setup({ fields: { name: { label: 'Name' }, phone: { type: 'phone', required: true, label: 'Phone' } } });
    await t.post(jsonPost({ name: 'Aziz', phone: '+998901234567' }));
    expect(t.accepted[0]?.text).toBe('Name: Aziz\nPhone: +998901234567');
  });

  it('without a submission id each post is its own message with a fresh key', async () => {
    const t = await setup({ fields: FIELDS });
    const a = await t.post(jsonPost(GOOD));
    const b = await t.post(jsonPost(GOOD));
    expect(t.accepted).toHaveLength(2);
    expect(t.accepted[0]?.dedupeKey).not.toBe(t.accepted[1]?.dedupeKey);
    expect((a.body as { submissionId: string }).submissionId).toBe(t.accepted[0]?.dedupeKey);
    expect(b.body).not.toHaveProperty('duplicate');
  });

  it('refuses a body that is not a set of fields', async () => {
    const t = await setup();
    const res = await t.post(jsonPost(['not', 'fields']));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'invalid_body' });
    // The HTTP layer hands over unparseable JSON as an undefined body with the raw bytes.
    const broken = await t.post(jsonPost(undefined, {}, { rawBody: Buffer.from('{"message": "hi"') }));
    expect(broken.body).toMatchObject({ error: 'invalid_body' });
    expect(t.accepted).toHaveLength(0);
  });
});

describe('webform: validation', () => {
  it('names every bad field in one answer', async () => {
    const t = await setup({ fields: { ...FIELDS, code: { maxLength: 4 } } });
    const res = await t.post(
      jsonPost({ email: 'not-an-email', phone: 'call me maybe', topic: 'casino', amount: '12abc', consent: 'maybe', code: '12345', name: ['a', 'b'] }),
    );
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: 'validation_failed',
      message: expect.stringContaining('Message'),
      fields: {
        name: 'must be a single value',
        email: 'must be an email address',
        phone: expect.stringContaining('must be a phone number'),
        message: 'is required',
        topic: 'must be one of: payments, verification, bonus, other',
        amount: 'must be a number',
        consent: 'must be true or false',
        code: 'must be at most 4 characters',
      },
    });
    expect(t.accepted).toHaveLength(0);
  });

  it('a required checkbox must be checked', async () => {
    const t = await setup({ fields: FIELDS });
    const res = await t.post(jsonPost({ ...GOOD, consent: false }));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ fields: { consent: 'must be checked' } });
  });

  it('counts characters, not bytes, against maxLength', async () => {
    const t = await setup({ fields: { message: { maxLength: 5 } } });
    expect((await t.post(jsonPost({ message: 'привет' }))).body).toMatchObject({ fields: { message: 'must be at most 5 characters' } });
    expect((await t.post(jsonPost({ message: '🎰🎰🎰🎰🎰' }))).status).toBe(200);
  });

  it('checks the submission id format', async () => {
    const t = await setup({ fields: FIELDS });
    const bad = await t.post(jsonPost({ ...GOOD, submissionId: 'short' }));
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ fields: { submissionId: expect.stringContaining('8–128') } });
    const badHeader = await t.post(jsonPost(GOOD, { 'idempotency-key': 'has spaces in it' }));
    expect(badHeader.body).toMatchObject({ fields: { 'Idempotency-Key': expect.stringContaining('8–128') } });
    expect(t.accepted).toHaveLength(0);
  });
});

describe('webform: classic HTML forms', () => {
  it('a urlencoded post without Accept: application/json is redirected with a 303', async () => {
    const t = await setup({ fields: FIELDS, redirect: 'https://casino.example/thanks' });
    const res = await t.post(formPost(GOOD, { headers: { accept: 'text/html,*/*' } }));
    expect(res.status).toBe(303);
    expect(res.headers?.location).toBe('https://casino.example/thanks');
    expect(t.accepted).toHaveLength(1);
  });

  it('without a redirect it shows the success message as a page', async () => {
    const t = await setup({ fields: FIELDS, successMessage: 'Спасибо! Мы ответим в течение часа.' });
    const res = await t.post(formPost(GOOD));
    expect(res.status).toBe(200);
    expect(res.headers?.['content-type']).toMatch(/^text\/html/);
    expect(res.body).toContain('Спасибо! Мы ответим в течение часа.');
  });

  it('errors become a page listing each field by label, escaped', async () => {
    const t = await setup({ fields: { ...FIELDS, name: { label: '<b>Name</b>', required: true } } });
    const res = await t.post(formPost({ email: 'x' }));
    expect(res.status).toBe(400);
    expect(res.body).toContain('&#60;b&#62;Name&#60;/b&#62;: is required');
    expect(res.body).toContain('Message: is required');
    expect(res.body).not.toContain('<b>');
  });
});

describe('webform: honeypot', () => {
  it('a filled honeypot gets the normal success answer and nothing is kept', async () => {
    const t = await setup({ fields: FIELDS });
    const res = await t.post(jsonPost({ ...GOOD, _gotcha: 'http://spam.example', submissionId: 'bot-12345678' }, {}, {
      files: [file('x.png', 'image/png', 'PNG')],
    }));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ ok: true, id: expect.any(String), submissionId: 'bot-12345678', message: 'Thank you, we received your message.' });
    expect(t.accepted).toHaveLength(0);
    expect(t.blobs.size).toBe(0);
  });

  it('honours a renamed honeypot and answers a classic bot post like a person', async () => {
    const t = await setup({ fields: FIELDS, honeypot: 'website', redirect: 'https://casino.example/thanks' });
    const res = await t.post(formPost({ message: 'buy pills', website: 'spam' }));
    expect(res.status).toBe(303);
    expect(t.accepted).toHaveLength(0);
  });
});

describe('webform: resubmission', () => {
  it('the same submission id is a no-op answered with the same success', async () => {
    const t = await setup({ fields: FIELDS });
    const first = await t.post(jsonPost({ ...GOOD, submissionId: 'b3c1f9e2-4d5a-4c1e-9f00-0123456789ab' }));
    const again = await t.post(jsonPost({ ...GOOD, submissionId: 'b3c1f9e2-4d5a-4c1e-9f00-0123456789ab' }));
    expect(first.body).toMatchObject({ ok: true, id: 'id-b3c1f9e2-4d5a-4c1e-9f00-0123456789ab' });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ ...(first.body as object), duplicate: true });
    expect(t.accepted).toHaveLength(1);
  });

  it('the Idempotency-Key header works as the submission id', async () => {
    const t = await setup({ fields: FIELDS });
    await t.post(jsonPost(GOOD, { 'idempotency-key': 'key_ABCDEFGH' }));
    const again = await t.post(jsonPost(GOOD, { 'idempotency-key': 'key_ABCDEFGH' }));
    expect(t.accepted[0]?.dedupeKey).toBe('key_ABCDEFGH');
    expect(again.body).toMatchObject({ id: 'id-key_ABCDEFGH', submissionId: 'key_ABCDEFGH', duplicate: true });
  });

  it('when the record of the first submission is gone, accept() sees the same key and dedupes', async () => {
    const t = await setup({ fields: FIELDS });
    const body = { ...GOOD, submissionId: 'sub-12345678' };
    const first = await t.post(jsonPost(body, {}, { files: [file('a.txt', 'text/plain', 'hello')] }));
    t.kv.clear();
    const again = await t.post(jsonPost(body, {}, { files: [file('a.txt', 'text/plain', 'hello')] }));
    expect(t.accepted.map((d) => d.dedupeKey)).toEqual(['sub-12345678', 'sub-12345678']);
    expect(again.body).toEqual({ ...(first.body as object), duplicate: true });
    // The duplicate's upload copy was dropped; the first one's is kept for delivery.
    expect([...t.blobs.keys()]).toEqual([t.accepted[0]?.attachments?.[0]?.source]);
  });

  it('the same id with different content is refused, not silently dropped', async () => {
    const t = await setup({ fields: FIELDS });
    await t.post(jsonPost({ ...GOOD, submissionId: 'sub-12345678' }));
    const res = await t.post(jsonPost({ ...GOOD, message: 'A second, different question', submissionId: 'sub-12345678' }));
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ error: 'submission_id_reused', fields: { submissionId: expect.any(String) } });
    expect(t.accepted).toHaveLength(1);
  });
});

describe('webform: rate limit', () => {
  it('answers 429 with Retry-After after the limit for one IP; other IPs are unaffected', async () => {
    const t = await setup({ fields: FIELDS, rateLimit: { perMinute: 2 } });
    expect((await t.post(formPost(GOOD, { ip: '198.51.100.1' }))).status).toBe(200);
    expect((await t.post(formPost(GOOD, { ip: '198.51.100.1' }))).status).toBe(200);
    const limited = await t.post(jsonPost(GOOD, {}, { ip: '198.51.100.1' }));
    expect(limited.status).toBe(429);
    expect(Number(limited.headers?.['retry-after'])).toBeGreaterThan(0);
    expect(limited.body).toMatchObject({ error: 'rate_limited', retryAfterSec: Number(limited.headers?.['retry-after']) });
    expect((await t.post(jsonPost(GOOD, {}, { ip: '198.51.100.2' }))).status).toBe(200);
    expect(t.accepted).toHaveLength(3);
  });

  it('burst allows more at once than the per-minute rate', async () => {
    const t = await setup({ fields: FIELDS, rateLimit: { perMinute: 1, burst: 3 } });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await t.post(jsonPost(GOOD))).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });
});

describe('webform: CORS', () => {
  const cors = { origins: ['https://casino.example'] };

  it('an allowed origin gets Access-Control-Allow-Origin on the answer', async () => {
    const t = await setup({ fields: FIELDS, cors });
    const res = await t.post(jsonPost(GOOD, { origin: 'https://casino.example' }));
    expect(res.status).toBe(200);
    expect(res.headers?.['access-control-allow-origin']).toBe('https://casino.example');
    expect(res.headers?.vary).toBe('Origin');
  });

  it('errors to an allowed origin carry CORS headers too, so the page can read them', async () => {
    const t = await setup({ fields: FIELDS, cors });
    const res = await t.post(jsonPost({}, { origin: 'https://casino.example' }));
    expect(res.status).toBe(400);
    expect(res.headers?.['access-control-allow-origin']).toBe('https://casino.example');
  });

  it('a post from another origin is refused with 403 and no CORS headers', async () => {
    const t = await setup({ fields: FIELDS, cors });
    const res = await t.post(formPost(GOOD, { headers: { origin: 'https://evil.example', accept: 'application/json' } }));
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({ error: 'origin_not_allowed' });
    expect(res.headers?.['access-control-allow-origin']).toBeUndefined();
    expect(t.accepted).toHaveLength(0);
  });

  it('answers the preflight for an allowed origin only', async () => {
    const t = await setup({ fields: FIELDS, cors });
    const preflight = (origin: string): InboundRequest => ({
      method: 'OPTIONS', url: '', query: {}, rawBody: Buffer.alloc(0), body: undefined, files: [], ip: IP,
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' },
    });
    const ok = await t.preflight(preflight('https://casino.example'));
    expect(ok.status).toBe(204);
    expect(ok.headers).toMatchObject({
      'access-control-allow-origin': 'https://casino.example',
      'access-control-allow-methods': expect.stringContaining('POST'),
      'access-control-allow-headers': expect.stringContaining('Idempotency-Key'),
    });
    const refused = await t.preflight(preflight('https://evil.example'));
    expect(refused.headers?.['access-control-allow-origin']).toBeUndefined();
    expect(refused.headers?.['access-control-allow-methods']).toBeUndefined();
  });

  it('without an allow-list no CORS headers are sent and any origin may post', async () => {
    const t = await setup({ fields: FIELDS });
    const res = await t.post(formPost(GOOD, { headers: { origin: 'https://anywhere.example', accept: 'application/json' } }));
    expect(res.status).toBe(200);
    expect(res.headers?.['access-control-allow-origin']).toBeUndefined();
  });
});

describe('webform: files', () => {
  it('stores an uploaded file as a blob and serves it back at delivery', async () => {
    const t = await setup({ fields: FIELDS, files: { allowedTypes: ['image/*', 'application/pdf'] } });
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3]);
    const res = await t.post(
      formPost(GOOD, {
        files: [file('C:\\fakepath\\receipt.png', 'image/png', png), file('', 'application/octet-stream', Buffer.alloc(0), 'other')],
        headers: { accept: 'application/json' },
      }),
    );
    expect(res.status).toBe(200);
    const attachments = t.accepted[0]?.attachments ?? [];
    // The empty part of a blank file input is not an attachment.
    expect(attachments).toEqual([{ name: 'receipt.png', mime: 'image/png', size: png.length, source: expect.any(String) }]);
    expect(t.blobs.get(attachments[0]!.source)).toEqual(png);

    const fetched = await t.channel.fetchAttachment(attachments[0]!);
    expect(fetched).toEqual({ name: 'receipt.png', mime: 'image/png', data: png });
  });

  it('a blob that is gone is a permanent delivery error saying so', async () => {
    const t = await setup({ fields: FIELDS });
    const err = await t.channel.fetchAttachment({ name: 'scan.pdf', mime: 'application/pdf', source: 'blob-404' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DeliveryError);
    expect(err).toMatchObject({ kind: 'permanent', message: expect.stringContaining('scan.pdf') });
    expect((err as Error).message).toContain('no longer stored');
  });

  it('refuses too many files, naming the ones over the limit', async () => {
    const t = await setup({ fields: FIELDS, files: { maxFiles: 2 } });
    const res = await t.post(jsonPost(GOOD, {}, { files: ['a.txt', 'b.txt', 'c.txt'].map((n) => file(n, 'text/plain', n)) }));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'validation_failed', fields: { attachment: expect.stringContaining('c.txt') } });
    expect((res.body as { fields: Record<string, string> }).fields.attachment).not.toContain('a.txt');
    expect(t.accepted).toHaveLength(0);
    expect(t.blobs.size).toBe(0);
  });

  it('refuses a file over the size limit, naming it', async () => {
    const t = await setup({ fields: FIELDS, files: { maxFileBytes: 1024 } });
    const res = await t.post(jsonPost(GOOD, {}, { files: [file('small.txt', 'text/plain', 'ok'), file('huge.bin', 'text/plain', Buffer.alloc(2048), 'upload')] }));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ fields: { upload: 'huge.bin is 2 KB; the limit is 1 KB per file' } });
    expect(t.blobs.size).toBe(0);
  });

  it('refuses a file of a type not allowed, naming it', async () => {
    const t = await setup({ fields: FIELDS, files: { allowedTypes: ['image/*'] } });
    const res = await t.post(jsonPost(GOOD, {}, { files: [file('setup.exe', 'application/x-msdownload', 'MZ')] }));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ fields: { attachment: expect.stringMatching(/^setup\.exe is application\/x-msdownload; accepted: image\/\*/) } });
  });

  it('sets the route body limit from the file limits', async () => {
    const t = await setup({ fields: FIELDS, files: { maxFiles: 2, maxFileBytes: 1000 } });
    expect(t.postRoute.bodyLimit).toBe(2000 + 1024 * 1024);
  });
});

describe('webform: captcha', () => {
  async function withCaptcha(extra: object = {}) {
    const verify = await siteverify();
    const t = await setup({ fields: FIELDS, captcha: { provider: 'turnstile', secret: SECRET, verifyUrl: verify.url, ...extra } });
    return { ...t, verify };
  }
  const withToken = (more: object = {}) => ({ ...GOOD, 'cf-turnstile-response': 'XXXX.DUMMY.TOKEN', ...more });

  it('verifies the token server-side before accepting', async () => {
    const t = await withCaptcha();
    const res = await t.post(jsonPost(withToken()));
    expect(res.status).toBe(200);
    expect(t.verify.requests).toHaveLength(1);
    const sent = t.verify.requests[0]!;
    expect(Object.fromEntries(sent)).toEqual({ secret: SECRET, response: 'XXXX.DUMMY.TOKEN', remoteip: IP });
    // The token is a control field, not form content.
    expect(t.accepted[0]?.form?.fields).not.toHaveProperty('cf-turnstile-response');
  });

  it('a refused token is a 400 naming the captcha field, and nothing is accepted', async () => {
    const t = await withCaptcha();
    t.verify.answer(200, JSON.stringify({ success: false, 'error-codes': ['timeout-or-duplicate'] }));
    const res = await t.post(jsonPost(withToken()));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'captcha_failed', fields: { 'cf-turnstile-response': 'was not accepted (timeout-or-duplicate)' } });
    expect(t.accepted).toHaveLength(0);
  });

  it('a missing token is a validation error, without asking the provider', async () => {
    const t = await withCaptcha();
    const res = await t.post(jsonPost(GOOD));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ fields: { 'cf-turnstile-response': expect.stringContaining('complete the captcha') } });
    expect(t.verify.requests).toHaveLength(0);
  });

  it('fails closed with 503 when siteverify errors', async () => {
    const t = await withCaptcha();
    t.verify.answer(502, '<html>Bad gateway</html>');
    const res = await t.post(jsonPost(withToken()));
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ error: 'captcha_unavailable', message: expect.stringMatching(/could not verify captcha/i) });
    expect(t.accepted).toHaveLength(0);
  });

  it('fails closed with 503 when siteverify is unreachable', async () => {
    const t = await withCaptcha();
    await t.verify.close();
    const res = await t.post(jsonPost(withToken()));
    expect(res.status).toBe(503);
    expect(t.accepted).toHaveLength(0);
  });

  it('a rejected secret is our fault: 503, logged without the secret', async () => {
    const t = await withCaptcha();
    t.verify.answer(200, JSON.stringify({ success: false, 'error-codes': ['invalid-input-secret'] }));
    const res = await t.post(jsonPost(withToken()));
    expect(res.status).toBe(503);
    const logged = JSON.stringify(t.logs);
    expect(logged).toContain('invalid-input-secret');
    expect(logged).not.toContain(SECRET);
    expect(JSON.stringify(res)).not.toContain(SECRET);
  });

  it('a resubmit of an accepted submission is answered without verifying its spent token again', async () => {
    const t = await withCaptcha();
    const first = await t.post(jsonPost(withToken({ submissionId: 'sub-12345678' })));
    t.verify.answer(200, JSON.stringify({ success: false, 'error-codes': ['timeout-or-duplicate'] }));
    const again = await t.post(jsonPost(withToken({ submissionId: 'sub-12345678' })));
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ ...(first.body as object), duplicate: true });
    expect(t.verify.requests).toHaveLength(1);
    expect(t.accepted).toHaveLength(1);
  });

  it('a double click verifies once and both clicks get the same answer', async () => {
    const t = await withCaptcha();
    const body = withToken({ submissionId: 'sub-12345678' });
    const [a, b] = await Promise.all([t.post(jsonPost(body)), t.post(jsonPost(body))]);
    expect(t.verify.requests).toHaveLength(1);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect((a.body as { id: string }).id).toBe((b.body as { id: string }).id);
    expect(t.accepted).toHaveLength(1);
  });

  it('uses the hCaptcha field name by default for hCaptcha', async () => {
    const t = await withCaptcha({ provider: 'hcaptcha' });
    const res = await t.post(jsonPost({ ...GOOD, 'h-captcha-response': 'P1_token' }));
    expect(res.status).toBe(200);
    expect(t.verify.requests[0]?.get('response')).toBe('P1_token');
  });

  it('check() tells a rejected secret apart from a working one', async () => {
    const t = await withCaptcha();
    t.verify.answer(200, JSON.stringify({ success: false, 'error-codes': ['invalid-input-response'] }));
    await expect(t.channel.check!()).resolves.toContain('secret accepted');
    t.verify.answer(200, JSON.stringify({ success: false, 'error-codes': ['invalid-input-secret'] }));
    const err = await t.channel.check!().catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toContain('invalid-input-secret');
    expect((err as Error).message).not.toContain(SECRET);
  });
});

describe('webform: storage failures', () => {
  it('answers 503 without details when the message cannot be stored, and drops the uploads', async () => {
    const t = await setup({ fields: FIELDS });
    t.failAccepts();
    const res = await t.post(jsonPost(GOOD, {}, { files: [file('a.txt', 'text/plain', 'hello')] }));
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ error: 'unavailable', message: expect.any(String) });
    expect(JSON.stringify(res.body)).not.toContain('disk full');
    expect(t.blobs.size).toBe(0);
    expect(t.logs.some((l) => l.level === 'error')).toBe(true);
  });
});

describe('webform: replies', () => {
  const conversation = (sender: object) => ({ channelId: 'contact', externalId: 'sub-12345678', sender: { externalId: 'x', ...sender } });
  const reply = { text: 'We fixed it', files: [], replyId: 'c1' };
  let channel: ChannelInstance;

  it('cannot send, and tells the agent how to reach the customer', async () => {
    channel = (await setup({ fields: FIELDS })).channel;
    const byEmail = await channel.send(conversation({ email: 'a@b.uz', phone: '+998901234567' }), reply);
    expect(byEmail.externalIds).toEqual([]);
    expect(byEmail.notes).toEqual([expect.stringMatching(/a@b\.uz.*\+998901234567.*email channel/)]);

    const byPhone = await channel.send(conversation({ phone: '+998901234567' }), reply);
    expect(byPhone.notes?.[0]).toMatch(/no email; call or text them at \+998901234567/);

    const nothing = await channel.send(conversation({}), reply);
    expect(nothing.externalIds).toEqual([]);
    expect(nothing.notes?.[0]).toMatch(/left no email or phone/);
  });
});
