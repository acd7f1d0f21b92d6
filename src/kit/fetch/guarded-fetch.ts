import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import ipaddr from 'ipaddr.js';
import { Agent, buildConnector, type Dispatcher } from 'undici';
import { DeliveryError, errorFromNetwork } from '../../core/errors.ts';

/**
 * The one way the gateway fetches a URL that came from outside (channel media, attachment URLs of
 * the generic webhook channel, call recordings, helpdesk attachment links):
 * - http and https only;
 * - loopback, private, link-local (cloud metadata), unique-local, multicast, CGNAT and other
 *   non-public addresses are refused unless the connector's config allows private addresses;
 *   the check is made on the address actually connected to: we resolve the name ourselves and
 *   connect to the checked address (so DNS rebinding cannot slip in), and look again at the
 *   socket's peer once connected;
 * - redirects are followed by hand, each hop checked again, the host allow-list applied to
 *   every hop, credentials sent only to the origins they belong to;
 * - a size cap, and one deadline for the whole fetch (every hop and the body), so a host that
 *   sends one byte a second is cut off.
 * The connector's own API origins (configured by the operator) are trusted as configured.
 */

export interface FetchPolicy {
  /** Largest body accepted, in bytes. */
  maxBytes: number;
  /** The whole fetch, every hop and the body, must be done within this. */
  timeoutMs: number;
  /** Host names every hop may go to (besides trusted origins); absent: any public host. */
  hosts?: readonly string[];
  /** Loopback and private addresses allowed (an on-premise PBX or helpdesk): an explicit operator choice. */
  allowPrivateAddresses?: boolean;
  /** The connector's own configured API origins (`https://acme.zendesk.com`): their addresses are the operator's choice. */
  trustedOrigins?: readonly string[];
  /** Headers (credentials) sent only to these origins, never to a redirect elsewhere. */
  credentials?: { origins: readonly string[]; headers: Record<string, string> };
  /** Around each request to a credentialed origin: the helpdesk's rate limiter. */
  pace?: { before(): Promise<void>; after(answer: { status: number; headers: Headers } | undefined): void };
  maxRedirects?: number;
  /** What errors call this download, instead of its URL (for a URL that holds a secret, like Telegram's file links). */
  label?: string;
}

export interface FetchedBody {
  status: number;
  headers: Headers;
  /** The last hop's URL. */
  url: URL;
  /** The body of a 2xx answer (at most `maxBytes`), or the start of any other answer's body (its error text). */
  body: Buffer;
}

const DEFAULT_MAX_REDIRECTS = 5;
/** An error answer's body is kept only to quote it. */
const ERROR_BODY_BYTES = 16 * 1024;

/** The URL with its query cut off: query strings may carry signatures or tokens. */
export function safeUrl(url: string | URL): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/** Why an address may not be fetched by default (its range, e.g. "loopback"), or undefined for a public one. */
export function nonPublicRange(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return 'unparseable';
  // process() turns an IPv4-mapped IPv6 address (::ffff:127.0.0.1) into the IPv4 it carries.
  const range = ipaddr.process(address).range();
  return range === 'unicast' ? undefined : (RANGE_NAMES[range] ?? range);
}

/** ipaddr.js's range names as a reader of a note knows them. */
const RANGE_NAMES: Record<string, string> = {
  linkLocal: 'link-local (cloud metadata)',
  uniqueLocal: 'unique-local',
  carrierGradeNat: 'carrier-grade NAT',
  unspecified: 'unspecified',
  ipv4Mapped: 'IPv4-mapped',
};

/** Our refusal (the URL, not the network): permanent, so it is named in a note instead of retried. */
export class FetchRefused extends DeliveryError {
  constructor(message: string) {
    super(message, { kind: 'permanent' });
    this.name = 'FetchRefused';
  }
}

/** The answer was longer than the policy's `maxBytes`. */
export class FileTooLarge extends FetchRefused {
  constructor(message: string) {
    super(message);
    this.name = 'FileTooLarge';
  }
}

const refusedAddress = (host: string, address: string, range: string) =>
  new FetchRefused(`${host} is ${address === host ? '' : `at ${address}, `}a ${range} address; only public addresses are fetched (allowPrivateAddresses is off)`);

/** Resolves a name ourselves and hands the connection only the addresses that passed. */
function checkedLookup(hostname: string, options: LookupOptions, callback: (err: Error | null, address: string | LookupAddress[], family?: number) => void): void {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
    if (err) return callback(err, []);
    const allowed = addresses.filter((a) => nonPublicRange(a.address) === undefined);
    if (allowed.length === 0) {
      const first = addresses[0];
      return callback(first ? refusedAddress(hostname, first.address, nonPublicRange(first.address)!) : new FetchRefused(`${hostname} resolves to no address`), []);
    }
    if (options.all) return callback(null, allowed);
    callback(null, allowed[0]!.address, allowed[0]!.family);
  });
}

let checking: Agent | undefined;
let open: Agent | undefined;

/** Connections that reach public addresses only: the name resolved by `checkedLookup`, the peer checked once connected. */
function checkingAgent(): Agent {
  if (checking) return checking;
  const connect = buildConnector({ lookup: checkedLookup });
  checking = new Agent({
    connect(opts, callback) {
      connect(opts, (err, socket) => {
        if (err || !socket) return callback(err ?? new Error('no socket'), null);
        const peer = socket.remoteAddress ?? '';
        const range = nonPublicRange(peer);
        if (range !== undefined) {
          socket.destroy();
          return callback(refusedAddress(opts.hostname, peer, range), null);
        }
        callback(null, socket);
      });
    },
  });
  return checking;
}

function openAgent(): Agent {
  open ??= new Agent();
  return open;
}

/** The URL's host when it is an address literal (`127.0.0.1`, `[::ffff:7f00:1]`). */
function literalAddress(url: URL): string | undefined {
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return ipaddr.isValid(host) ? host : undefined;
}

function parseUrl(raw: string | URL, base?: URL): URL {
  try {
    return new URL(raw, base);
  } catch {
    throw new FetchRefused(`${typeof raw === 'string' ? raw.slice(0, 200) : 'the URL'} is not a valid URL`);
  }
}

/**
 * Fetches `url` under `policy`. Answers every non-redirect status (the caller sorts errors its
 * vendor's way); throws FetchRefused for what the policy refuses or a body over the limit, and a
 * retryable DeliveryError for network failures and the deadline.
 */
export async function guardedFetch(url: string, policy: FetchPolicy): Promise<FetchedBody> {
  const maxRedirects = policy.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), policy.timeoutMs);
  let current = parseUrl(url);
  const what = () => policy.label ?? `download ${safeUrl(current)}`;
  try {
    for (let hop = 0; hop <= maxRedirects; hop++) {
      const dispatcher = admit(current, policy);
      const credentialed = policy.credentials?.origins.includes(current.origin) ?? false;
      if (credentialed) await policy.pace?.before();
      let res: Response;
      try {
        // Node's fetch, carried by our dispatcher (undici's fetch takes one; RequestInit's type does not say so).
        const init = { headers: credentialed ? policy.credentials!.headers : {}, redirect: 'manual', signal: deadline.signal, dispatcher };
        res = await fetch(current, init as RequestInit);
      } catch (err) {
        if (credentialed) policy.pace?.after(undefined);
        throw failure(what(), err, deadline.signal, policy.timeoutMs);
      }
      if (credentialed) policy.pace?.after({ status: res.status, headers: res.headers });
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel().catch(() => undefined);
        current = parseUrl(location, current);
        continue;
      }
      const ok = res.status >= 200 && res.status < 300;
      const body = await readBody(res, ok ? policy.maxBytes : ERROR_BODY_BYTES, ok, what(), deadline.signal, policy.timeoutMs);
      return { status: res.status, headers: res.headers, url: current, body };
    }
    throw new FetchRefused(`${what()}: more than ${maxRedirects} redirects`);
  } finally {
    clearTimeout(timer);
  }
}

/** The policy's verdict on one hop, before anything is sent: which dispatcher may carry it. */
function admit(url: URL, policy: FetchPolicy): Dispatcher {
  const where = policy.label ?? `download ${safeUrl(url)}`;
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new FetchRefused(`${where}: only http and https URLs are fetched`);
  if (policy.trustedOrigins?.includes(url.origin)) return openAgent();
  if (policy.hosts && !policy.hosts.includes(url.hostname)) {
    throw new FetchRefused(`${where}: host ${url.hostname} is not in the allowed hosts (${policy.hosts.join(', ')})`);
  }
  if (policy.allowPrivateAddresses) return openAgent();
  const literal = literalAddress(url);
  const range = literal === undefined ? undefined : nonPublicRange(literal);
  if (literal !== undefined && range !== undefined) throw new FetchRefused(`${where}: ${refusedAddress(literal, literal, range).message}`);
  return checkingAgent();
}

async function readBody(res: Response, max: number, strict: boolean, what: string, signal: AbortSignal, timeoutMs: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  let over = false;
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (strict && declared > max) {
    await res.body?.cancel().catch(() => undefined);
    throw new FileTooLarge(`${what}: the file is ${declared} bytes, over the limit of ${max}`);
  }
  if (res.body) {
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        if (total + value.length > max) {
          over = true;
          chunks.push(Buffer.from(value.buffer, value.byteOffset, max - total));
          total = max;
          await reader.cancel().catch(() => undefined);
          break;
        }
        chunks.push(Buffer.from(value.buffer, value.byteOffset, value.length));
        total += value.length;
      }
    } catch (err) {
      throw failure(what, err, signal, timeoutMs);
    }
  }
  if (over && strict) throw new FileTooLarge(`${what}: the file is over the limit of ${max} bytes`);
  return Buffer.concat(chunks, total);
}

/** Our refusals keep their words (with the URL in front); the deadline and the network become retryable errors. */
function failure(what: string, err: unknown, signal: AbortSignal, timeoutMs: number): DeliveryError {
  const cause = (err as { cause?: unknown } | undefined)?.cause;
  const refused = err instanceof FetchRefused ? err : cause instanceof FetchRefused ? cause : undefined;
  if (refused) return new FetchRefused(`${what}: ${refused.message}`);
  if (err instanceof DeliveryError) return err;
  if (signal.aborted) return new DeliveryError(`${what}: not finished within ${timeoutMs} ms`, { kind: 'retry' });
  return errorFromNetwork(what, err);
}
