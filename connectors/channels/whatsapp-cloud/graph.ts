import { DeliveryError } from '../../../src/core/errors.ts';
import { guardedFetch } from '../../../src/kit/fetch/guarded-fetch.ts';
import { metaError, networkError } from './errors.ts';

export interface GraphConfig {
  graphUrl: string;
  apiVersion: string;
  accessToken: string;
  timeoutMs: number;
}

/**
 * The few Graph API calls the channel makes. The token travels only in the Authorization
 * header, so no URL the gateway logs ever holds it.
 */
export class GraphApi {
  private readonly cfg: GraphConfig;

  constructor(cfg: GraphConfig) {
    this.cfg = cfg;
  }

  /** `/{version}/{path}` under the configured Graph root. */
  url(path: string): string {
    return `${this.cfg.graphUrl}/${this.cfg.apiVersion}/${path}`;
  }

  async getJson(what: string, path: string): Promise<unknown> {
    const res = await this.request(what, this.url(path), { method: 'GET' }, false);
    return readJson(what, res);
  }

  async postJson(what: string, path: string, body: unknown): Promise<unknown> {
    const res = await this.request(what, this.url(path), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }, true);
    return readJson(what, res);
  }

  async postForm(what: string, path: string, form: FormData): Promise<unknown> {
    const res = await this.request(what, this.url(path), { method: 'POST', body: form }, true);
    return readJson(what, res);
  }

  /**
   * A download from a URL Meta handed out (media, on Meta's CDN), with the bearer token Meta asks
   * for there; through the guarded fetch, so a redirect goes without it and only to public hosts.
   */
  async download(what: string, url: string, maxBytes: number): Promise<Buffer> {
    let origin: string;
    try {
      origin = new URL(url).origin;
    } catch {
      throw new DeliveryError(`${what}: the Graph API gave no valid URL`, { kind: 'permanent' });
    }
    const graph = new URL(this.cfg.graphUrl).origin;
    const res = await guardedFetch(url, {
      maxBytes,
      timeoutMs: this.cfg.timeoutMs,
      trustedOrigins: [graph],
      credentials: { origins: [graph, origin], headers: { authorization: `Bearer ${this.cfg.accessToken}` } },
      label: what,
    });
    if (res.status < 200 || res.status >= 300) throw metaError(what, res.status, res.body.toString('utf8'), res.headers, false);
    return res.body;
  }

  private async request(what: string, url: string, init: RequestInit, write: boolean): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(url, {
        ...init,
        headers: { ...(init.headers as Record<string, string> | undefined), authorization: `Bearer ${this.cfg.accessToken}` },
        signal: AbortSignal.timeout(this.cfg.timeoutMs),
      });
    } catch (err) {
      throw networkError(what, err);
    }
    if (!res.ok) {
      const body = await res.text().catch(() => '');
      throw metaError(what, res.status, body, res.headers, write);
    }
    return res;
  }
}

async function readJson(what: string, res: Response): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new DeliveryError(`${what}: the Graph API answered ${res.status} with a body that is not JSON`, { kind: 'retry', status: res.status, detail: text.slice(0, 8000), ambiguous: true });
  }
}
