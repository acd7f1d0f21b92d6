import type { FetchedFile } from '../../core/connector.ts';
import { DeliveryError, errorFromNetwork, errorFromResponse } from '../../core/errors.ts';

export interface DownloadOptions {
  maxBytes: number;
  timeoutMs: number;
  /** Sent with the request (credentials for the vendor's own media URLs). */
  headers?: Record<string, string>;
  /** Host names the URL may point to; undefined: any. */
  hosts?: readonly string[];
  /** Name and type to use when the response does not say. */
  name: string;
  mime?: string;
}

/** The URL with its query cut off: query strings may carry signatures or tokens. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

/**
 * Fetches a file a channel referenced by URL, at delivery time. A 4xx or a file over the limit
 * is permanent (the pipeline names it in a note on the ticket); 5xx, 429 and network errors retry.
 */
export async function downloadFile(url: string, o: DownloadOptions): Promise<FetchedFile> {
  const what = `download ${safeUrl(url)}`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DeliveryError(`${what}: not a valid URL`, { kind: 'permanent' });
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new DeliveryError(`${what}: only http(s) URLs are fetched`, { kind: 'permanent' });
  }
  if (o.hosts && !o.hosts.includes(parsed.hostname)) {
    throw new DeliveryError(`${what}: host ${parsed.hostname} is not in the channel's allowed hosts`, { kind: 'permanent' });
  }
  let res: Response;
  try {
    // Credentials must not follow a redirect to another host.
    res = await fetch(parsed, { headers: o.headers, redirect: o.headers ? 'manual' : 'follow', signal: AbortSignal.timeout(o.timeoutMs) });
  } catch (err) {
    throw errorFromNetwork(what, err);
  }
  if (res.status >= 300 && res.status < 400) {
    const location = res.headers.get('location');
    await res.body?.cancel();
    if (!location) throw new DeliveryError(`${what}: redirect without a Location`, { kind: 'permanent', status: res.status });
    // The vendor's media may live on a CDN behind a signed redirect: follow it once, without credentials.
    return downloadFile(new URL(location, parsed).toString(), { ...o, headers: undefined, hosts: undefined });
  }
  if (!res.ok) throw errorFromResponse(what, res.status, await res.text().catch(() => ''), res.headers);
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (declared > o.maxBytes) {
    await res.body?.cancel();
    throw new DeliveryError(`${what}: the file is ${declared} bytes, over the limit of ${o.maxBytes}`, { kind: 'permanent' });
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of res.body ?? []) {
      size += chunk.length;
      if (size > o.maxBytes) {
        throw new DeliveryError(`${what}: the file is over the limit of ${o.maxBytes} bytes`, { kind: 'permanent' });
      }
      chunks.push(Buffer.from(chunk));
    }
  } catch (err) {
    if (err instanceof DeliveryError) throw err;
    throw errorFromNetwork(what, err);
  }
  const mime = (res.headers.get('content-type') ?? '').split(';')[0]!.trim();
  return {
    name: fileNameFrom(res.headers.get('content-disposition')) ?? o.name,
    mime: mime && mime !== 'application/octet-stream' ? mime : (o.mime ?? (mime || 'application/octet-stream')),
    data: Buffer.concat(chunks),
  };
}

function fileNameFrom(disposition: string | null): string | undefined {
  if (!disposition) return undefined;
  const star = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(disposition);
  if (star) {
    try {
      return decodeURIComponent(star[1]!.trim());
    } catch {
      /* fall through to the plain form */
    }
  }
  const plain = /filename\s*=\s*"?([^";]+)"?/i.exec(disposition);
  return plain?.[1]?.trim() || undefined;
}
