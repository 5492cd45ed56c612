import type { MonitoredPool } from './pool-recorder.js';

/**
 * What a {@link PoolMonitor} reads of a partition manager (`@pool/partitioning`'s `PartitionManager`),
 * structurally, so monitoring does not depend on the partitioning package: its `acquire`, `reject` and
 * `create` events, and which pool each partition draws from.
 */
export interface PartitionEventSource {
  /** The pool the manager partitions. */
  readonly pool: object;
  on(event: 'acquire', listener: (e: { partition: string; waitMs: number }) => void): unknown;
  on(event: 'reject', listener: (e: { partition: string | null; waitMs: number }) => void): unknown;
  on(event: 'create', listener: (e: { partition: { id: string } }) => void): unknown;
  off(event: 'acquire', listener: (e: { partition: string; waitMs: number }) => void): unknown;
  off(event: 'reject', listener: (e: { partition: string | null; waitMs: number }) => void): unknown;
  off(event: 'create', listener: (e: { partition: { id: string } }) => void): unknown;
  /** The partition `id`, with the pool its connections come from (its own when isolated). */
  partition(id: string): { readonly pool: object } | undefined;
  listPartitions(): readonly { readonly id: string }[];
  getPartitionStatistics(): Readonly<Record<string, { readonly waiting?: number }>>;
}

/** Where a watched manager's callers are counted: the recorder of the pool a partition draws from. */
export interface CallerSink {
  partitionAcquired(waitMs: number): void;
  partitionRejected(): void;
  countCallers(): void;
}

/**
 * A watched partition manager: routes each partition caller's outcome (served after its whole wait,
 * or failed) to the monitor's recorder of the pool the partition draws from. Requests the manager
 * could not route to a partition (`partition: null`) belong to no pool and are not counted.
 * @internal
 */
export class PartitionWatch {
  readonly #source: PartitionEventSource;
  readonly #sinkOf: (pool: object) => CallerSink | undefined;

  constructor(source: PartitionEventSource, sinkOf: (pool: object) => CallerSink | undefined) {
    this.#source = source;
    this.#sinkOf = sinkOf;
  }

  readonly #onAcquire = (e: { partition: string; waitMs: number }): void => {
    this.#sink(e.partition)?.partitionAcquired(e.waitMs);
  };

  readonly #onReject = (e: { partition: string | null; waitMs: number }): void => {
    if (e.partition !== null) this.#sink(e.partition)?.partitionRejected();
  };

  readonly #onCreate = (e: { partition: { id: string } }): void => {
    this.#sink(e.partition.id)?.countCallers();
  };

  get source(): PartitionEventSource {
    return this.#source;
  }

  start(): void {
    const s = this.#source;
    this.#sinkOf(s.pool)?.countCallers();
    for (const p of s.listPartitions()) this.#sink(p.id)?.countCallers();
    s.on('acquire', this.#onAcquire);
    s.on('reject', this.#onReject);
    s.on('create', this.#onCreate);
  }

  stop(): void {
    const s = this.#source;
    s.off('acquire', this.#onAcquire);
    s.off('reject', this.#onReject);
    s.off('create', this.#onCreate);
  }

  /** A recorder (pool) now counting callers: pools attached after the watch started. */
  adopt(pool: MonitoredPool, sink: CallerSink): void {
    const s = this.#source;
    if (s.pool === pool || s.listPartitions().some((p) => s.partition(p.id)?.pool === pool)) sink.countCallers();
  }

  /** Callers waiting in the partitions that draw from `pool`, right now. */
  waitingFor(pool: object): number {
    const s = this.#source;
    let waiting = 0;
    for (const [id, stats] of Object.entries(s.getPartitionStatistics())) {
      if (typeof stats.waiting === 'number' && s.partition(id)?.pool === pool) waiting += stats.waiting;
    }
    return waiting;
  }

  #sink(partitionId: string): CallerSink | undefined {
    const pool = this.#source.partition(partitionId)?.pool;
    return pool === undefined ? undefined : this.#sinkOf(pool);
  }
}
