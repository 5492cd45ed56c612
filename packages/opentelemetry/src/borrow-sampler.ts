/** A sampling period lasts this long (ms); periods start every `SAMPLE_PERIOD_MS / fraction`. */
export const SAMPLE_PERIOD_MS = 100;

/**
 * Decides which borrows the wait-time and use-time histograms record: every one (`'all'`), or those
 * that start during 100 ms sampling periods covering `fraction` of the time, at a random phase.
 * Recording a histogram point with the OpenTelemetry SDK costs several times an uncontended
 * acquire/release, so the default records a sample; `on` is a plain field the hot path reads.
 */
export class BorrowSampler {
  /** True while borrows are recorded. */
  on: boolean;
  readonly #fraction: number | 'all';
  readonly #onChange: (on: boolean) => void;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running = false;

  /** `onChange` is told when a sampling period starts (`true`) and ends (`false`). */
  constructor(fraction: number | 'all', onChange: (on: boolean) => void) {
    this.#fraction = fraction;
    this.#onChange = onChange;
    this.on = fraction === 'all';
  }

  /** Starts the periods (nothing to do for `'all'`). */
  start(): void {
    if (this.#running || this.#fraction === 'all') return;
    this.#running = true;
    const every = SAMPLE_PERIOD_MS / this.#fraction;
    this.#schedule(Math.random() * every);
  }

  /** Stops sampling; `on` stays false until {@link start}. */
  stop(): void {
    if (!this.#running) return;
    this.#running = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.on) {
      this.on = false;
      this.#onChange(false);
    }
  }

  #schedule(ms: number): void {
    this.#timer = setTimeout(() => this.#tick(), ms);
    this.#timer.unref?.();
  }

  #tick(): void {
    if (!this.#running || this.#fraction === 'all') return;
    this.on = !this.on;
    this.#onChange(this.on);
    this.#schedule(this.on ? SAMPLE_PERIOD_MS : SAMPLE_PERIOD_MS / this.#fraction - SAMPLE_PERIOD_MS);
  }
}
