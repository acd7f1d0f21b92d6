import { DeliveryError } from '../../../src/core/errors.ts';
import type { Logger } from '../../../src/core/connector.ts';
import { backoffDelay, type Backoff } from '../../../src/kit/poller.ts';
import type { WebClient, WebMessage } from './library.ts';

export type SessionState = 'stopped' | 'starting' | 'qr' | 'authenticated' | 'ready' | 'disconnected' | 'failed';

export interface SessionHooks {
  /** A fresh client; called on every (re)start. */
  createClient(): Promise<WebClient>;
  onQr(qr: string): void;
  /** Connected: catch up on what arrived meanwhile. */
  onReady(client: WebClient): void;
  onMessage(message: WebMessage): void;
}

/**
 * One linked WhatsApp account: starts the client, follows its events, and when it disconnects
 * or fails to start, throws it away and starts a new one after an exponential backoff. The
 * state (and why) is what /readyz shows.
 */
export class WebSession {
  state: SessionState = 'stopped';
  detail = 'not started';
  /** The newest QR code while waiting for a scan. */
  qr: string | undefined;
  private client: WebClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private generation = 0;
  private readonly hooks: SessionHooks;
  private readonly backoff: Backoff;
  private readonly log: Logger;
  private readonly random: () => number;

  constructor(hooks: SessionHooks, backoff: Backoff, log: Logger, random = Math.random) {
    this.hooks = hooks;
    this.backoff = backoff;
    this.log = log;
    this.random = random;
  }

  start(): void {
    if (this.state !== 'stopped' && this.state !== 'failed' && this.state !== 'disconnected') return;
    void this.launch();
  }

  async stop(): Promise<void> {
    this.generation += 1;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.set('stopped', 'stopped');
    await this.discard();
  }

  /** The connected client, or a retryable error saying why there is none. */
  ready(): WebClient {
    if (this.state === 'ready' && this.client) return this.client;
    throw new DeliveryError(`the WhatsApp Web client is not connected (${this.state}: ${this.detail})`, { kind: 'retry' });
  }

  private async launch(): Promise<void> {
    const generation = ++this.generation;
    const current = () => generation === this.generation;
    this.set('starting', 'starting Chromium and WhatsApp Web');
    let client: WebClient;
    try {
      client = await this.hooks.createClient();
    } catch (err) {
      if (current()) this.fail(`could not load whatsapp-web.js: ${messageOf(err)}`);
      return;
    }
    if (!current()) return;
    this.client = client;
    client.on('qr', (qr: string) => {
      if (!current()) return;
      this.qr = qr;
      this.set('qr', 'waiting for the QR code to be scanned in WhatsApp → Linked devices');
      this.hooks.onQr(qr);
    });
    client.on('authenticated', () => {
      if (!current()) return;
      this.qr = undefined;
      this.set('authenticated', 'linked; loading chats');
    });
    client.on('auth_failure', (message: string) => {
      if (current()) this.fail(`authentication failed: ${message}; link the account again with a new QR code`);
    });
    client.on('ready', () => {
      if (!current()) return;
      this.failures = 0;
      this.qr = undefined;
      this.set('ready', 'connected');
      this.hooks.onReady(client);
    });
    client.on('change_state', (state: string) => {
      if (current() && this.state === 'ready') this.detail = `connected (${state})`;
    });
    client.on('disconnected', (reason: string) => {
      if (current()) this.fail(`the connection dropped (${reason})`, 'disconnected');
    });
    client.on('message', (message: WebMessage) => {
      if (current()) this.hooks.onMessage(message);
    });
    try {
      await client.initialize();
    } catch (err) {
      if (current()) this.fail(`WhatsApp Web did not start: ${messageOf(err)}`);
    }
  }

  private fail(detail: string, state: SessionState = 'failed'): void {
    this.set(state, detail);
    const delay = this.nextDelay();
    this.detail = `${detail}; reconnecting in ${Math.round(delay / 1000)} s`;
    this.log.warn({ state, reason: detail, retryInMs: delay }, 'whatsapp-web: client is down; reconnecting with backoff');
    const generation = ++this.generation;
    void this.discard();
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      if (generation === this.generation) void this.launch();
    }, delay);
    this.timer.unref?.();
  }

  private nextDelay(): number {
    this.failures += 1;
    const exp = backoffDelay(this.backoff, this.failures);
    return Math.floor(exp * (0.5 + this.random() * 0.5));
  }

  private async discard(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    client.removeAllListeners();
    await client.destroy().catch((err: unknown) => this.log.debug({ error: messageOf(err) }, 'whatsapp-web: destroying the old client failed'));
  }

  private set(state: SessionState, detail: string): void {
    if (state !== this.state) this.log.info({ state, detail }, 'whatsapp-web: client state');
    this.state = state;
    this.detail = detail;
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
