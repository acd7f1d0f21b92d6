import { setTimeout as delay } from 'node:timers/promises';

/** Wait between attempts after failures: doubles from `initialMs` up to `maxMs`. */
export interface Backoff {
  initialMs: number;
  maxMs: number;
}

/** The wait after the `failures`-th failure in a row (1 for the first). */
export function backoffDelay(b: Backoff, failures: number): number {
  return Math.min(b.maxMs, b.initialMs * 2 ** Math.min(Math.max(failures, 1) - 1, 20));
}

/** Waits out the backoff for the `failures`-th failure in a row; an abort ends the wait at once. */
export async function pauseAfterFailure(backoff: Backoff, failures: number, signal: AbortSignal): Promise<void> {
  await delay(backoffDelay(backoff, failures), undefined, { signal }).catch(() => undefined);
}

/**
 * The life of a channel's background receiver (a long poll, an IMAP session): one loop at a
 * time, ended by aborting its signal, and what /readyz shows about it (`ready`, and why not).
 * The loop reports with `up` and `down` and waits out failures with `pauseAfterFailure`.
 */
export class PollerLifecycle {
  #abort = new AbortController();
  #loop: Promise<void> | undefined;
  #ready = false;
  #detail: string | undefined = 'not started';

  get running(): boolean {
    return this.#loop !== undefined;
  }

  /** Runs `loop` until `stop`; does nothing while one runs. */
  start(loop: (signal: AbortSignal) => Promise<void>): void {
    if (this.#loop) return;
    this.#abort = new AbortController();
    this.#loop = loop(this.#abort.signal);
  }

  /**
   * Aborts the loop and waits for it to end. With `cut`, a loop still running after `graceMs`
   * (a connection that hangs) is cut; the wait for it goes on until it has ended.
   */
  async stop(hang?: { graceMs: number; cut(): void }): Promise<void> {
    this.#abort.abort();
    if (hang && this.#loop) {
      const grace = new AbortController();
      const ended = await Promise.race([this.#loop.then(() => true), delay(hang.graceMs, false, { signal: grace.signal }).catch(() => false)]);
      grace.abort();
      if (!ended) hang.cut();
    }
    await this.#loop;
    this.#loop = undefined;
    this.down('stopped');
  }

  /** Receiving works. */
  up(): void {
    this.#ready = true;
    this.#detail = undefined;
  }

  /** Not receiving, and why (for /readyz and the admin). */
  down(detail: string): void {
    this.#ready = false;
    this.#detail = detail;
  }

  get ready(): boolean {
    return this.#ready;
  }

  status(): { ready: boolean; detail?: string } {
    return this.#detail === undefined ? { ready: this.#ready } : { ready: this.#ready, detail: this.#detail };
  }

}
