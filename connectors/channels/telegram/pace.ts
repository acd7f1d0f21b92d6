import { setTimeout as delay } from 'node:timers/promises';

export interface PaceOptions {
  /** Gap between two messages to one private chat (Telegram: about 1 per second). */
  privateIntervalMs: number;
  /** Gap between two messages to one group (Telegram: at most 20 per minute). */
  groupIntervalMs: number;
  now?: () => number;
  sleep?: (ms: number) => Promise<unknown>;
}

export const TELEGRAM_PACE: PaceOptions = { privateIntervalMs: 1000, groupIntervalMs: 3000 };

/**
 * Spaces out messages per chat so a long reply split into parts does not hit Telegram's
 * per-chat flood limit (which answers 429 and makes the whole reply wait). In-process
 * only: several gateway processes each keep their own pace.
 */
export class ChatPacer {
  readonly #next = new Map<string, number>();
  readonly #opts: PaceOptions;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<unknown>;

  constructor(opts: PaceOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
    this.#sleep = opts.sleep ?? ((ms) => delay(ms));
  }

  /** Resolves when a message to `chatId` may go out, and books that slot. */
  async wait(chatId: string): Promise<void> {
    const now = this.#now();
    this.#forgetPast(now);
    // Group and supergroup ids are negative; private chats are the user's (positive) id.
    const interval = chatId.startsWith('-') ? this.#opts.groupIntervalMs : this.#opts.privateIntervalMs;
    const at = Math.max(now, this.#next.get(chatId) ?? now);
    this.#next.set(chatId, at + interval);
    if (at > now) await this.#sleep(at - now);
  }

  #forgetPast(now: number): void {
    if (this.#next.size < 1000) return;
    for (const [chat, at] of this.#next) if (at <= now) this.#next.delete(chat);
  }
}
