import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A fake Slack Web API on 127.0.0.1 speaking Slack's documented shapes: POST /api/<method>
 * with a Bearer token and a form (nested fields as JSON strings, as the WebClient sends them)
 * or JSON body; answers `{ ok: true, … }` or `{ ok: false, error }` with HTTP 200, and 429 with
 * Retry-After when told to. Implements auth.test, chat.postMessage and conversations.history.
 */

export interface FakeSlackMessage {
  channel: string;
  ts: string;
  text: string;
  blocks: unknown[];
  metadata?: { event_type: string; event_payload: Record<string, unknown> };
}

export interface FakeSlackRequest {
  method: string;
  authorization: string | undefined;
  params: Record<string, unknown>;
}

export interface FakeSlackFailure {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  /** Post the message, then answer with the failure: the answer is lost, the post is not. */
  applyFirst?: boolean;
}

export interface FakeSlack {
  /** The WebClient's slackApiUrl: http://127.0.0.1:PORT/api/ */
  apiUrl: string;
  messages: FakeSlackMessage[];
  requests: FakeSlackRequest[];
  /** The next `n` calls of `method` fail with `failure`. */
  failNext(method: string, n: number, failure: FakeSlackFailure): void;
  /** Calls answer normally again. */
  clearFailures(): void;
  /** Forgets what the last test left: messages, requests, failures. */
  reset(): void;
  close(): Promise<void>;
}

const JSON_FIELDS = ['blocks', 'attachments', 'metadata'];

export async function startFakeSlack(opts: { token: string; channels: string[]; team?: string }): Promise<FakeSlack> {
  const messages: FakeSlackMessage[] = [];
  const requests: FakeSlackRequest[] = [];
  const failures: { method: string; left: number; failure: FakeSlackFailure }[] = [];
  let tsCounter = 0;

  function params(req: IncomingMessage, raw: string): Record<string, unknown> {
    if ((req.headers['content-type'] ?? '').includes('json')) return raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    const out: Record<string, unknown> = {};
    for (const [k, v] of new URLSearchParams(raw)) {
      out[k] = JSON_FIELDS.includes(k) ? JSON.parse(v) : v;
    }
    return out;
  }

  function call(method: string, p: Record<string, unknown>): Record<string, unknown> {
    switch (method) {
      case 'auth.test':
        return { ok: true, user: 'switchboard', team: opts.team ?? 'Acme', user_id: 'U0SWITCH', team_id: 'T0ACME' };
      case 'chat.postMessage': {
        const channel = String(p['channel'] ?? '');
        if (!opts.channels.includes(channel)) return { ok: false, error: 'channel_not_found' };
        if (typeof p['text'] !== 'string' && !Array.isArray(p['blocks'])) return { ok: false, error: 'no_text' };
        const ts = `${Math.floor(Date.now() / 1000)}.${String(++tsCounter).padStart(6, '0')}`;
        const message: FakeSlackMessage = {
          channel,
          ts,
          text: typeof p['text'] === 'string' ? p['text'] : '',
          blocks: Array.isArray(p['blocks']) ? p['blocks'] : [],
          ...(p['metadata'] ? { metadata: p['metadata'] as FakeSlackMessage['metadata'] } : {}),
        };
        messages.push(message);
        return { ok: true, channel, ts, message: { text: message.text, ts } };
      }
      case 'conversations.history': {
        const channel = String(p['channel'] ?? '');
        if (!opts.channels.includes(channel)) return { ok: false, error: 'channel_not_found' };
        const withMeta = p['include_all_metadata'] === 'true' || p['include_all_metadata'] === true;
        const list = messages.filter((m) => m.channel === channel).reverse().slice(0, Number(p['limit'] ?? 100));
        return { ok: true, messages: list.map((m) => ({ type: 'message', ts: m.ts, text: m.text, ...(withMeta && m.metadata ? { metadata: m.metadata } : {}) })), has_more: false };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }

  function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    const payload = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json; charset=utf-8', ...headers }).end(payload);
  }

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const m = /^\/api\/([\w.]+)$/.exec((req.url ?? '').split('?')[0] ?? '');
      if (req.method !== 'POST' || !m) return send(res, 404, { ok: false, error: 'unknown_method' });
      const method = m[1]!;
      let p: Record<string, unknown>;
      try {
        p = params(req, Buffer.concat(chunks).toString('utf8'));
      } catch {
        return send(res, 200, { ok: false, error: 'invalid_form_data' });
      }
      requests.push({ method, authorization: req.headers.authorization, params: p });
      if (req.headers.authorization !== `Bearer ${opts.token}`) return send(res, 200, { ok: false, error: 'invalid_auth' });
      const failure = failures.find((f) => f.method === method);
      if (failure) {
        if (--failure.left <= 0) failures.splice(failures.indexOf(failure), 1);
        if (failure.failure.applyFirst) call(method, p);
        return send(res, failure.failure.status, failure.failure.body ?? { ok: false, error: 'simulated' }, failure.failure.headers);
      }
      send(res, 200, call(method, p));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    apiUrl: `http://127.0.0.1:${port}/api/`,
    messages,
    requests,
    failNext(method, n, failure) {
      if (n > 0) failures.push({ method, left: n, failure });
    },
    clearFailures() {
      failures.length = 0;
    },
    reset() {
      for (const list of [messages, requests, failures]) list.length = 0;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
