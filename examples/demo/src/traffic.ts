/**
 * Tenant traffic for the demo: an open stream of requests (they arrive whether or not the pool keeps
 * up, as web traffic does), from enterprise and standard tenants, of four kinds with four priorities,
 * with a rate that swells and ebbs and a burst from the standard tier every 30 seconds. One handler has a
 * bug: now and then it forgets to give its connection back, which is what the leak detector is for.
 */
import { type PooledConnection, QueuePriority } from '@pool/core';
import type { PartitionManager } from '@pool/partitioning';
import { SeededRandom } from '@pool/testkit';
import type { Backend } from './backends.js';

/** The tenants of the two tiers. Enterprise tenants are assigned to `enterprise_tier`; the rest default to `standard_tier`. */
export const ENTERPRISE_TENANTS = ['acme_corp', 'globex', 'initech'] as const;
export const STANDARD_TENANTS = Array.from({ length: 12 }, (_, i) => `tenant_${String(i + 1).padStart(2, '0')}`);

/** A kind of request: its share of the traffic, its priority, and how long its handler holds the connection. */
interface RequestKind {
  name: string;
  share: number;
  priority: QueuePriority;
  holdMs: [min: number, max: number];
}

const KINDS: readonly RequestKind[] = [
  { name: 'checkout', share: 0.05, priority: QueuePriority.Critical, holdMs: [20, 60] },
  { name: 'page', share: 0.5, priority: QueuePriority.High, holdMs: [10, 80] },
  { name: 'api', share: 0.37, priority: QueuePriority.Normal, holdMs: [20, 160] },
  { name: 'report', share: 0.08, priority: QueuePriority.Low, holdMs: [300, 900] },
];
const MEAN_HOLD_MS = KINDS.reduce((sum, k) => sum + k.share * ((k.holdMs[0] + k.holdMs[1]) / 2), 0);

/** Options of {@link Traffic}. */
export interface TrafficOptions {
  manager: PartitionManager<unknown>;
  backend: Backend;
  /** The mean number of connections the traffic keeps busy at full rate (the rate follows from it). */
  targetConcurrency: number;
  /** How often the buggy handler leaks a connection; `null`: never. */
  leakEveryMs: number | null;
  /** Each request's acquire timeout. */
  timeoutMs: number;
  seed?: number;
}

/** Counters of what the traffic did. */
export interface TrafficCounts {
  started: number;
  succeeded: number;
  failed: number;
  /** Failures by error code (`ERR_POOL_EXHAUSTED`, `ESIMULATED_QUERY`...). */
  failures: Record<string, number>;
  leaked: number;
  inFlight: number;
}

const TICK_MS = 50;
/** The enterprise tenants' share of the traffic. */
const ENTERPRISE_SHARE = 0.45;
/** During a burst the standard tier doubles: the total rate is this many times the usual one. */
const BURST_FACTOR = ENTERPRISE_SHARE + (1 - ENTERPRISE_SHARE) * 2;

/** Generates the traffic until `stop()`. */
export class Traffic {
  readonly #options: TrafficOptions;
  readonly #random: SeededRandom;
  readonly #inFlight = new Set<Promise<void>>();
  readonly #counts: TrafficCounts = { started: 0, succeeded: 0, failed: 0, failures: {}, leaked: 0, inFlight: 0 };
  #timer: NodeJS.Timeout | undefined;
  #startedAt = 0;
  #lastLeakAt = 0;
  #carry = 0;
  /** 0..1: how much of the full rate is sent (the warm-up ramps it up). */
  intensity = 0;

  constructor(options: TrafficOptions) {
    this.#options = options;
    this.#random = new SeededRandom(options.seed ?? 7);
  }

  /** Requests per second at full intensity, before the swell and the bursts. */
  get baseRatePerSecond(): number {
    return (this.#options.targetConcurrency / MEAN_HOLD_MS) * 1000;
  }

  /** The rate being sent now. */
  get currentRatePerSecond(): number {
    return this.#rateAt(performance.now() - this.#startedAt) * this.intensity;
  }

  get counts(): TrafficCounts {
    return { ...this.#counts, failures: { ...this.#counts.failures }, inFlight: this.#inFlight.size };
  }

  start(): void {
    this.#startedAt = performance.now();
    this.#lastLeakAt = this.#startedAt;
    this.#timer = setInterval(() => this.#tick(), TICK_MS);
  }

  /** Stops sending and waits for the requests in flight to finish (they are bounded by their timeouts). */
  async stop(): Promise<number> {
    clearInterval(this.#timer);
    const pending = this.#inFlight.size;
    await Promise.allSettled([...this.#inFlight]);
    return pending;
  }

  /** The rate at `elapsedMs`: a slow swell (±40% over a minute), and {@link BURST_FACTOR} times more during a burst. */
  #rateAt(elapsedMs: number): number {
    const swell = 1 + 0.4 * Math.sin((2 * Math.PI * elapsedMs) / 60_000);
    return this.baseRatePerSecond * swell * (this.#inBurst(elapsedMs) ? BURST_FACTOR : 1);
  }

  /** Every 30 s, for 4 s, the standard tier sends twice its usual traffic. */
  #inBurst(elapsedMs: number): boolean {
    const phase = elapsedMs % 30_000;
    return phase >= 20_000 && phase < 24_000;
  }

  #tick(): void {
    const elapsed = performance.now() - this.#startedAt;
    const rate = this.#rateAt(elapsed) * this.intensity;
    this.#carry += (rate * TICK_MS) / 1000;
    const burst = this.#inBurst(elapsed);
    while (this.#carry >= 1) {
      this.#carry -= 1;
      this.#request(burst);
    }
    const { leakEveryMs } = this.#options;
    if (leakEveryMs !== null && this.intensity >= 1 && performance.now() - this.#lastLeakAt >= leakEveryMs) {
      this.#lastLeakAt = performance.now();
      this.#leak();
    }
  }

  #pickKind(): RequestKind {
    let roll = this.#random.next();
    for (const kind of KINDS) {
      roll -= kind.share;
      if (roll < 0) return kind;
    }
    return KINDS[KINDS.length - 1] as RequestKind;
  }

  #pickTenant(burst: boolean): string {
    // Enterprise tenants send the same during a burst, so their share of the (larger) total shrinks.
    const enterpriseShare = burst ? ENTERPRISE_SHARE / BURST_FACTOR : ENTERPRISE_SHARE;
    const tenants = this.#random.chance(enterpriseShare) ? ENTERPRISE_TENANTS : STANDARD_TENANTS;
    return tenants[this.#random.int(0, tenants.length - 1)] as string;
  }

  #request(burst: boolean): void {
    const kind = this.#pickKind();
    const tenant = this.#pickTenant(burst);
    const holdMs = this.#random.between(kind.holdMs[0], kind.holdMs[1]);
    const { manager, backend, timeoutMs } = this.#options;
    this.#counts.started += 1;
    const done = manager
      .use(
        { tenant, application: kind.name },
        async (connection) => {
          await backend.query(connection, tenant);
          await sleep(holdMs); // the handler's own work, done while it holds the connection
        },
        { priority: kind.priority, timeoutMs, context: { kind: kind.name } },
      )
      .then(
        () => {
          this.#counts.succeeded += 1;
        },
        (error: unknown) => {
          this.#counts.failed += 1;
          const code = (error as { code?: unknown }).code;
          const key = typeof code === 'string' ? code : (error as Error).name;
          this.#counts.failures[key] = (this.#counts.failures[key] ?? 0) + 1;
        },
      )
      .finally(() => this.#inFlight.delete(done));
    this.#inFlight.add(done);
  }

  /** The buggy handler: a nightly report that acquires, queries, and never releases. */
  #leak(): void {
    const tenant = ENTERPRISE_TENANTS[this.#random.int(0, ENTERPRISE_TENANTS.length - 1)] as string;
    const { manager, backend, timeoutMs } = this.#options;
    const done = manager
      .acquire({ tenant, application: 'nightly-report' }, { priority: QueuePriority.Low, timeoutMs, context: { kind: 'nightly-report' } })
      .then(async (conn: PooledConnection<unknown>) => {
        this.#counts.leaked += 1;
        await backend.query(conn.connection, tenant);
        // ...and here it should have called conn.release(). It forgot.
      })
      .catch(() => {}) // a reclaimed handle or a refused acquire: the bug stays silent, as bugs do
      .finally(() => this.#inFlight.delete(done));
    this.#inFlight.add(done);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
