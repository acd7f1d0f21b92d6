import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DeliveryError } from '../../src/core/errors.ts';
import { FetchRefused, FileTooLarge, guardedFetch, nonPublicRange, type FetchPolicy } from '../../src/kit/fetch/guarded-fetch.ts';

/** A file host on 127.0.0.1 that notes every request it gets. */
let server: Server;
let base: string;
const seen: { path: string; authorization?: string }[] = [];

beforeAll(async () => {
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push({ path: req.url ?? '', authorization: req.headers.authorization });
    const url = new URL(req.url ?? '/', base);
    if (url.pathname === '/redirect') return void res.writeHead(302, { location: url.searchParams.get('to')! }).end();
    if (url.pathname === '/loop') return void res.writeHead(302, { location: '/loop' }).end();
    if (url.pathname === '/drip') {
      // One byte every 100 ms: each read is quick, the whole is not.
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const timer = setInterval(() => res.write('x'), 100);
      res.on('close', () => clearInterval(timer));
      return;
    }
    if (url.pathname === '/missing') return void res.writeHead(404).end('no such file');
    if (url.pathname === '/big') return void res.writeHead(200).end(Buffer.alloc(4096));
    if (url.pathname === '/chunked-big') {
      res.writeHead(200);
      res.write(Buffer.alloc(600));
      return void res.end(Buffer.alloc(600));
    }
    res.writeHead(200, { 'content-type': 'text/plain' }).end('file body');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const policy = (o: Partial<FetchPolicy> = {}): FetchPolicy => ({ maxBytes: 1024, timeoutMs: 5000, ...o });
const refusal = (url: string, o: Partial<FetchPolicy> = {}) => guardedFetch(url, policy(o)).then(() => undefined, (e: unknown) => e);

describe('guarded fetch: what is refused by default', () => {
  it('loopback, private, link-local (cloud metadata), unique-local, CGNAT and IPv4-mapped IPv6 addresses', async () => {
    const port = new URL(base).port;
    const targets = [
      `${base}/x`,
      `http://[::1]:${port}/x`,
      `http://[::ffff:127.0.0.1]:${port}/x`,
      'http://169.254.169.254/latest/meta-data/iam/',
      'http://10.1.2.3/x',
      'http://192.168.0.10/x',
      'http://172.16.5.5/x',
      'http://100.100.100.200/latest/meta-data/',
      'http://[fd00:ec2::254]/latest/meta-data/',
      'http://0.0.0.0/x',
      'http://2130706433/x', // 127.0.0.1 written as a number
    ];
    const before = seen.length;
    for (const url of targets) {
      const err = await refusal(url);
      expect(err, url).toBeInstanceOf(FetchRefused);
      expect((err as FetchRefused).kind).toBe('permanent');
      expect((err as Error).message).toMatch(/address; only public addresses are fetched/);
    }
    expect(seen.length).toBe(before);
  });

  it('a DNS name that resolves to 127.0.0.1, checked on the address the lookup gives', async () => {
    const err = await refusal(`http://localhost:${new URL(base).port}/x`);
    expect(err).toBeInstanceOf(FetchRefused);
    expect((err as Error).message).toContain('localhost is at 127.0.0.1, a loopback address');
  });

  it('schemes other than http and https, and URLs that are not URLs', async () => {
    expect(((await refusal('file:///etc/passwd')) as Error).message).toContain('only http and https');
    expect(((await refusal('gopher://example.com/')) as Error).message).toContain('only http and https');
    expect(await refusal('not a url')).toBeInstanceOf(FetchRefused);
  });

  it('classifies public addresses as public', () => {
    expect(nonPublicRange('93.184.216.34')).toBeUndefined();
    expect(nonPublicRange('2606:2800:220:1:248:1893:25c8:1946')).toBeUndefined();
    expect(nonPublicRange('::ffff:10.0.0.1')).toBe('private');
    expect(nonPublicRange('64:ff9b::7f00:1')).toBeDefined();
  });
});

describe('guarded fetch: redirects, allow-lists and credentials', () => {
  it('with private addresses allowed by the operator, fetches them', async () => {
    const got = await guardedFetch(`${base}/file`, policy({ allowPrivateAddresses: true }));
    expect(got.status).toBe(200);
    expect(got.body.toString()).toBe('file body');
  });

  it('checks every redirect hop: from a trusted origin to loopback is refused', async () => {
    const before = seen.length;
    const err = await refusal(`${base}/redirect?to=${encodeURIComponent(`http://127.0.0.2:${new URL(base).port}/latest/meta-data/`)}`, { trustedOrigins: [base] });
    expect(err).toBeInstanceOf(FetchRefused);
    expect((err as Error).message).toContain('127.0.0.2 is a loopback address');
    // The trusted hop was made, the one to the internal address was not.
    expect(seen.slice(before).map((s) => s.path.split('?')[0])).toEqual(['/redirect']);
  });

  it('applies the host allow-list to every hop', async () => {
    const port = new URL(base).port;
    const err = await refusal(`http://localhost:${port}/redirect?to=${encodeURIComponent(`${base}/file`)}`, { hosts: ['localhost'], allowPrivateAddresses: true });
    expect((err as Error).message).toContain('host 127.0.0.1 is not in the allowed hosts (localhost)');
  });

  it('sends credentials only to their origin, never across a redirect', async () => {
    const port = new URL(base).port;
    const other = `http://localhost:${port}`;
    const before = seen.length;
    const got = await guardedFetch(`${base}/redirect?to=${encodeURIComponent(`${other}/file`)}`, policy({
      allowPrivateAddresses: true,
      credentials: { origins: [base], headers: { authorization: 'Bearer secret' } },
    }));
    expect(got.body.toString()).toBe('file body');
    expect(got.url.origin).toBe(other);
    expect(seen.slice(before).map((s) => s.authorization)).toEqual(['Bearer secret', undefined]);
  });

  it('stops after maxRedirects', async () => {
    const err = await refusal(`${base}/loop`, { allowPrivateAddresses: true, maxRedirects: 3 });
    expect((err as Error).message).toContain('more than 3 redirects');
  });
});

describe('guarded fetch: size and time', () => {
  it('refuses a body over maxBytes, declared or streamed', async () => {
    expect(await refusal(`${base}/big`, { allowPrivateAddresses: true })).toBeInstanceOf(FileTooLarge);
    expect(await refusal(`${base}/chunked-big`, { allowPrivateAddresses: true })).toBeInstanceOf(FileTooLarge);
  });

  it('cuts off a host that sends one byte at a time at the whole-fetch deadline, as a retryable error', async () => {
    const err = await refusal(`${base}/drip`, { allowPrivateAddresses: true, timeoutMs: 700, maxBytes: 1_000_000 });
    expect(err).toBeInstanceOf(DeliveryError);
    expect(err).toMatchObject({ kind: 'retry', message: expect.stringContaining('not finished within 700 ms') });
  });

  it('answers an error status with the start of its body for the caller to sort', async () => {
    const got = await guardedFetch(`${base}/missing`, policy({ allowPrivateAddresses: true }));
    expect(got.status).toBe(404);
    expect(got.body.toString()).toBe('no such file');
  });
});
