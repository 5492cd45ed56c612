/**
 * A small closed-loop load generator for the real-fault tests: `workers` callers each run `call`
 * back to back. Every call is watched: one still running `boundMs` after it started counts as hung
 * (a caller left hanging past any deadline the pool promised), and the generator never starts
 * another call on that worker until it settles.
 */

/** The outcome of one call. */
export interface CallOutcome {
  /** Monotonic ms (performance.now()) when the call started. */
  readonly startedAt: number;
  readonly durationMs: number;
  readonly ok: boolean;
  readonly error?: unknown;
}

/** What a finished load saw. */
export interface LoadReport {
  readonly outcomes: readonly CallOutcome[];
  /** Calls that ran past `boundMs`. */
  readonly hung: number;
  /** Calls still running after `stop()` waited `boundMs` for them. */
  readonly stuck: number;
}

/**
 * The closed-loop load generator (see the file's description).
 *
 * @example
 * ```ts
 * const load = new Load(8, () => pool.use((c) => c.query('SELECT 1')), 10_000).start();
 * await load.until(() => load.okSince(0) >= 100, 20_000);
 * const { hung, outcomes } = await load.stop();
 * ```
 */
export class Load {
  readonly outcomes: CallOutcome[] = [];
  hung = 0;
  #running = false;
  #workers: Promise<void>[] = [];
  #inFlight = 0;

  constructor(
    readonly workers: number,
    readonly call: (worker: number) => Promise<unknown>,
    readonly boundMs: number,
    /** Pause after a failed call, so a fast-failing loop does not spin the CPU. */
    readonly pauseAfterErrorMs = 20,
  ) {}

  start(): this {
    this.#running = true;
    for (let i = 0; i < this.workers; i++) this.#workers.push(this.#worker(i));
    return this;
  }

  /** Successful calls that started at or after `since` (monotonic ms). */
  okSince(since: number): number {
    return this.outcomes.filter((o) => o.ok && o.startedAt >= since).length;
  }

  /** Failed calls that started in `[from, to)`. */
  errorsBetween(from: number, to = Number.POSITIVE_INFINITY): CallOutcome[] {
    return this.outcomes.filter((o) => !o.ok && o.startedAt >= from && o.startedAt < to);
  }

  /** Waits until `predicate` holds (checked every 50 ms) or `timeoutMs` passes; returns whether it held. */
  async until(predicate: () => boolean, timeoutMs: number): Promise<boolean> {
    const end = performance.now() + timeoutMs;
    while (performance.now() < end) {
      if (predicate()) return true;
      await sleep(50);
    }
    return predicate();
  }

  async stop(): Promise<LoadReport> {
    this.#running = false;
    const all = Promise.all(this.#workers).then(() => true);
    const settled = await Promise.race([all, sleep(this.boundMs).then(() => false)]);
    return { outcomes: this.outcomes, hung: this.hung, stuck: settled ? 0 : this.#inFlight };
  }

  async #worker(i: number): Promise<void> {
    while (this.#running) {
      const startedAt = performance.now();
      let watchdog: ReturnType<typeof setTimeout> | undefined;
      let flagged = false;
      this.#inFlight++;
      try {
        watchdog = setTimeout(() => {
          flagged = true;
          this.hung++;
        }, this.boundMs);
        await this.call(i);
        this.outcomes.push({ startedAt, durationMs: performance.now() - startedAt, ok: true });
      } catch (error) {
        this.outcomes.push({ startedAt, durationMs: performance.now() - startedAt, ok: false, error });
        await sleep(this.pauseAfterErrorMs);
      } finally {
        this.#inFlight--;
        if (!flagged) clearTimeout(watchdog);
      }
    }
  }
}

/** Resolves after `ms` milliseconds of the (real or fake) clock. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A short name for an error, for grouping: `ConnectionTimeoutError`, `error:57P01`, `ECONNREFUSED`... */
export function errorKind(error: unknown): string {
  if (!(error instanceof Error)) return `non-error:${typeof error}`;
  const e = error as Error & { code?: unknown };
  if (e.name !== 'Error' && e.name !== 'error') return e.name;
  if (typeof e.code === 'string' && e.code !== '') return `Error:${e.code}`;
  return `Error:${e.message.slice(0, 60)}`;
}

/**
 * True for an error a caller can act on: an `Error` with a message, not a programming error
 * (`TypeError`, `RangeError`, `ReferenceError`) leaking out of the pool or the adapter.
 */
export function isClearError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error instanceof TypeError || error instanceof RangeError || error instanceof ReferenceError) return false;
  return typeof error.message === 'string' && error.message.trim().length > 0;
}
