import type { FetchedFile } from '../../core/connector.ts';
import { DeliveryError } from '../../core/errors.ts';
import type { RemoteApi } from '../helpdesk-http/client.ts';

export interface GuardedDownload extends RemoteApi {
  /** The helpdesk's own origin: only requests there carry credentials and count against its limit. */
  origin: string;
  /** Sent to the own origin only; absent when the vendor's files need none. */
  authorization?: string;
  maxRedirects: number;
}

/** Downloads an attachment, following redirects by hand so credentials never reach a CDN or another host. */
export async function downloadGuarded(url: string, g: GuardedDownload): Promise<FetchedFile> {
  const what = 'download attachment';
  let current = new URL(url);
  for (let hop = 0; hop <= g.maxRedirects; hop++) {
    const own = current.origin === g.origin;
    if (own) await g.limiter.acquire();
    let res: Response;
    try {
      res = await fetch(current, { headers: own && g.authorization ? { authorization: g.authorization } : {}, redirect: 'manual', signal: AbortSignal.timeout(g.timeoutMs) });
    } catch (err) {
      if (own) g.limiter.observe({});
      throw g.networkErrorOf(what, err);
    }
    if (own) g.limiter.observe(g.signalOf(res.status, res.headers));
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      await res.body?.cancel();
      current = new URL(location, current);
      continue;
    }
    if (!res.ok) throw g.errorOf(what, res.status, await res.text(), res.headers);
    let data: Buffer;
    try {
      data = Buffer.from(await res.arrayBuffer());
    } catch (err) {
      throw g.networkErrorOf(what, err);
    }
    const mime = (res.headers.get('content-type') ?? 'application/octet-stream').split(';')[0]!.trim();
    return { name: downloadedFileName(res.headers.get('content-disposition'), new URL(url), current), mime, data };
  }
  throw new DeliveryError(`${what}: more than ${g.maxRedirects} redirects`, { kind: 'permanent' });
}

/** The name from Content-Disposition, else a `name` query parameter of any of the URLs, else the first URL's last segment. */
export function downloadedFileName(disposition: string | null, ...urls: URL[]): string {
  const star = disposition?.match(/filename\*\s*=\s*(?:UTF-8'')?([^;]+)/i)?.[1];
  if (star) {
    try {
      return decodeURIComponent(star.trim().replace(/^"|"$/g, ''));
    } catch {
      // fall through to the plain filename
    }
  }
  const plain = disposition?.match(/filename\s*=\s*"?([^";]+)"?/i)?.[1];
  if (plain) return plain.trim();
  for (const u of urls) {
    const fromQuery = u.searchParams.get('name');
    if (fromQuery) return fromQuery;
  }
  const last = urls[0]?.pathname.split('/').filter(Boolean).pop();
  try {
    return last ? decodeURIComponent(last) : 'attachment';
  } catch {
    return last ?? 'attachment';
  }
}
