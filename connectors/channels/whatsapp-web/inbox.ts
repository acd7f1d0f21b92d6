import type { ChannelContext, KeyValueStore, Logger } from '../../../src/core/connector.ts';
import type { WebChat, WebClient, WebMessage } from './library.ts';
import { chatIgnoreReason, normalizeMessage, type NormalizeDeps } from './normalize.ts';

export interface InboxDeps extends NormalizeDeps {
  accept: ChannelContext['accept'];
  kv: KeyValueStore;
  log: Logger;
  maxPerChat: number;
  firstLinkHours: number;
  /** A message could not be stored: ask for a catch-up that reads it again. */
  onStoreFailed(): void;
  now?: () => number;
}

/** Messages older than the watermark by this much are read again on catch-up (dedupe absorbs repeats). */
const CATCH_UP_OVERLAP_SEC = 10 * 60;
const WATERMARK = 'watermark';

/**
 * Where messages from the client go: one at a time, in arrival order, each stored before the
 * next. The time of the newest stored message (the watermark) survives restarts, so after a
 * reconnect the chats are read back from there: whatsapp-web.js does not emit `message` for
 * what arrived while it was offline, and those messages would otherwise be lost. A message that
 * could not be stored holds the watermark below it until a catch-up has stored it.
 */
export class Inbox {
  private chain: Promise<void> = Promise.resolve();
  /** The watermark may not pass this while a failed message waits to be read again. */
  private ceiling: number | undefined;
  private readonly deps: InboxDeps;
  private readonly now: () => number;

  constructor(deps: InboxDeps) {
    this.deps = deps;
    this.now = deps.now ?? Date.now;
  }

  /** A live `message` event. */
  receive(message: WebMessage): Promise<void> {
    return this.enqueue(async () => {
      try {
        await this.store(message);
      } catch (err) {
        this.ceiling = Math.min(this.ceiling ?? Infinity, message.timestamp - 1);
        await this.deps.kv.set(WATERMARK, String(Math.min((await this.watermark()) ?? Infinity, this.ceiling))).catch(() => undefined);
        this.deps.log.error({ err, id: message.id._serialized }, 'whatsapp-web: a message could not be stored; it will be read again from the chat');
        this.deps.onStoreFailed();
      }
    });
  }

  /** After every `ready` (and after a failed store): read back what arrived since the watermark. */
  catchUp(client: WebClient): Promise<void> {
    return this.enqueue(async () => {
      const watermark = await this.watermark();
      const ceiling = this.ceiling;
      this.ceiling = undefined;
      try {
        const stored = watermark === undefined ? await this.firstLink(client) : await this.since(client, watermark - CATCH_UP_OVERLAP_SEC);
        if (watermark === undefined) await this.advance(Math.floor(this.now() / 1000));
        this.deps.log.info({ stored, since: watermark }, 'whatsapp-web: caught up on messages that arrived while offline');
      } catch (err) {
        this.ceiling = ceiling;
        this.deps.log.error({ err }, 'whatsapp-web: catching up failed; trying again');
        this.deps.onStoreFailed();
      }
    });
  }

  /** Resolves when everything queued so far is done. */
  idle(): Promise<void> {
    return this.chain;
  }

  private enqueue(work: () => Promise<void>): Promise<void> {
    const next = this.chain.then(work);
    this.chain = next.catch(() => undefined);
    return this.chain;
  }

  /** True when the message was new. */
  private async store(message: WebMessage): Promise<boolean> {
    const result = await normalizeMessage(message, this.deps);
    if ('ignored' in result) {
      this.deps.log.debug({ id: message.id._serialized, reason: result.ignored }, 'whatsapp-web: message ignored');
      return false;
    }
    const [outcome] = await this.deps.accept([result.draft]);
    await this.advance(message.timestamp);
    return outcome !== undefined && !outcome.duplicate;
  }

  /**
   * Every message since `sinceSec` in chats active since then, stored in time order across
   * chats, so the watermark only moves forward and a failure leaves it below what was not stored.
   */
  private async since(client: WebClient, sinceSec: number): Promise<number> {
    const found: WebMessage[] = [];
    for (const chat of await this.chats(client)) {
      if (chat.timestamp !== undefined && chat.timestamp < sinceSec) continue;
      found.push(...(await this.readBack(chat, sinceSec)).filter((m) => m.timestamp >= sinceSec));
    }
    return this.storeInOrder(found);
  }

  /** The first time an account is linked: its unread messages of the last hours, not its whole history. */
  private async firstLink(client: WebClient): Promise<number> {
    const sinceSec = Math.floor(this.now() / 1000) - this.deps.firstLinkHours * 3600;
    const found: WebMessage[] = [];
    for (const chat of await this.chats(client)) {
      if (chat.unreadCount <= 0) continue;
      const messages = await chat.fetchMessages({ limit: Math.min(chat.unreadCount, this.deps.maxPerChat) });
      found.push(...messages.filter((m) => !m.fromMe && m.timestamp >= sinceSec));
    }
    return this.storeInOrder(found);
  }

  private async storeInOrder(messages: WebMessage[]): Promise<number> {
    let stored = 0;
    for (const m of [...messages].sort((a, b) => a.timestamp - b.timestamp)) if (await this.store(m)) stored += 1;
    return stored;
  }

  private async chats(client: WebClient): Promise<WebChat[]> {
    return (await client.getChats()).filter((c) => chatIgnoreReason(c.id._serialized, this.deps.acceptGroups) === undefined);
  }

  /** Reads further back until the oldest message read is older than `sinceSec`, or the cap is reached. */
  private async readBack(chat: WebChat, sinceSec: number): Promise<WebMessage[]> {
    let limit = Math.min(50, this.deps.maxPerChat);
    for (;;) {
      const messages = [...(await chat.fetchMessages({ limit }))].sort((a, b) => a.timestamp - b.timestamp);
      const reachedBack = messages.length < limit || (messages[0] !== undefined && messages[0].timestamp < sinceSec);
      if (reachedBack || limit >= this.deps.maxPerChat) {
        if (!reachedBack) this.deps.log.warn({ chat: chat.id._serialized, read: messages.length }, 'whatsapp-web: catch-up stopped at backfill.maxPerChat; older messages of this chat were not read');
        return messages;
      }
      limit = Math.min(limit * 4, this.deps.maxPerChat);
    }
  }

  private async watermark(): Promise<number | undefined> {
    const value = await this.deps.kv.get(WATERMARK);
    const n = Number(value);
    return value !== undefined && Number.isFinite(n) ? n : undefined;
  }

  private async advance(timestampSec: number): Promise<void> {
    const target = Math.min(timestampSec, this.ceiling ?? Infinity);
    const current = await this.watermark();
    if (current === undefined || target > current) await this.deps.kv.set(WATERMARK, String(target));
  }
}
