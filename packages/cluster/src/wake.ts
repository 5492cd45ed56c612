/** @internal Lets loops sleep until notified or until a delay passes, whichever comes first. */
export class Wake {
  readonly #sleepers = new Set<() => void>();

  /** Resolves on the next {@link notify}, or after `ms`. */
  wait(ms: number): Promise<void> {
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
    for (const done of [...this.#sleepers]) done();
  }
}
