/**
 * Requests of a fake that a test holds (Zendesk's writes, Meta's answers to sends): while held,
 * `pass()` waits until `release()`. Holding again releases the hold before.
 */
export class Hold {
  #gate: { held: number; opened: Promise<void>; release(): void } | undefined;

  /** Holds from now on; `held()` counts the requests waiting. */
  start(): { held(): number; release(): void } {
    let open!: () => void;
    const g = {
      held: 0,
      opened: new Promise<void>((r) => (open = r)),
      release: () => {
        if (this.#gate === g) this.#gate = undefined;
        open();
      },
    };
    this.#gate?.release();
    this.#gate = g;
    return { held: () => g.held, release: g.release };
  }

  /** Waits while a hold is on. */
  async pass(): Promise<void> {
    const g = this.#gate;
    if (!g) return;
    g.held++;
    await g.opened;
    g.held--;
  }

  release(): void {
    this.#gate?.release();
  }
}
