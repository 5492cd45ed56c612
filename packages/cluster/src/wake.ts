/** @internal Lets loops sleep until notified or until a delay passes, whichever comes first. */
export class Wake {
  readonly #sleepers = new Set<() => void>();
  #notified = 0;

  /** How many times {@link notify} was called: read it before starting work a notification would change. */
  get notified(): number {
    return this.#notified;
  }

  /**
   * Resolves on the next {@link notify}, or after `ms`. With `since` (a value of {@link notified} read
   * earlier), resolves at once when a notification came in the meantime, while nobody was waiting.
   */
  wait(ms: number, since?: number): Promise<void> {
    if (since !== undefined && since !== this.#notified) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#sleepers.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.#sleepers.add(done);
    });
  }

  /** Wakes every sleeper. */
  notify(): void {
    this.#notified++;
    for (const done of [...this.#sleepers]) done();
  }
}
