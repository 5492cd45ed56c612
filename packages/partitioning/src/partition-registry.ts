import { InvalidConfigError, type WaitQueue } from '@pool/core';
import { PartitionError } from './errors.js';
import type { PartitionState } from './partition.js';
import type { PartitionKind, PartitionType } from './partition-type.js';
import { type PartitionRequest, ROUTING_KEYS, type RoutingStrategy } from './routing.js';

/** The kinds a key-based routing strategy matches by their `PartitionType` name. */
const KEYED_KINDS: readonly PartitionKind[] = ['tenant', 'user', 'application', 'service'];

/**
 * @internal The manager's partitions and how requests find them: by id, by explicit route key
 * (`routeKeys`, `assign()`), and by `PartitionType` name for the key kinds; plus the queues they own.
 */
export class PartitionRegistry<C> {
  /** Every partition not yet removed (draining ones included), by id. */
  readonly partitions = new Map<string, PartitionState<C>>();
  readonly #routes = new Map<string, PartitionState<C>>();
  readonly #byTypeName = new Map<string, PartitionState<C>>();
  readonly #queuesInUse = new WeakSet<WaitQueue>();

  constructor(
    readonly routing: RoutingStrategy,
    readonly defaultPartition: string | null,
  ) {}

  /** The key under which a partition of `type` is found by name, or null for kinds routing does not match by name. */
  typeKey(type: PartitionType): string | null {
    return KEYED_KINDS.includes(type.kind) ? `${type.kind}\u0000${type.name}` : null;
  }

  /** The partition already serving the type of `typeKey`, if any. */
  servingType(typeKey: string | null): PartitionState<C> | undefined {
    return typeKey === null ? undefined : this.#byTypeName.get(typeKey);
  }

  /** True when `queue` already serves a partition. */
  queueInUse(queue: WaitQueue): boolean {
    return this.#queuesInUse.has(queue);
  }

  /** Marks `queue` as serving a partition (no other partition may take it). */
  claimQueue(queue: WaitQueue): void {
    this.#queuesInUse.add(queue);
  }

  /** Validates a partition's `routeKeys` option: strings no partition is routed by yet. Returns them without duplicates. */
  checkRouteKeys(keys: unknown): string[] {
    if (keys === undefined) return [];
    this.assertKeyRouting('routeKeys');
    if (!Array.isArray(keys)) throw new InvalidConfigError('options.routeKeys', keys, 'must be an array of strings');
    for (const key of keys) {
      if (typeof key !== 'string' || key === '') throw new InvalidConfigError('options.routeKeys', key, 'must contain non-empty strings');
      const taken = this.#routes.get(key);
      if (taken !== undefined) throw new InvalidConfigError('options.routeKeys', key, `already routes to partition '${taken.id}'`);
    }
    return [...new Set(keys as string[])];
  }

  /** Throws unless the routing strategy matches requests by a key (`assign()` and `routeKeys` need one). */
  assertKeyRouting(action: string): void {
    const r = this.routing;
    if (typeof r === 'object' || r === 'loadBalanced') {
      throw new InvalidConfigError(
        'routing',
        typeof r === 'object' ? 'custom' : r,
        `${action}() and routeKeys need a key-based routing strategy`,
      );
    }
  }

  /** Registers a validated partition with its type key and route keys. */
  add(p: PartitionState<C>, typeKey: string | null, routeKeys: readonly string[]): void {
    this.partitions.set(p.id, p);
    if (typeKey !== null) this.#byTypeName.set(typeKey, p);
    for (const key of routeKeys) {
      this.#routes.set(key, p);
      p.routeKeys.add(key);
    }
  }

  /** Stops routing requests to `p` (its route keys and type name); it stays listed by id until removed. */
  unroute(p: PartitionState<C>): void {
    for (const key of p.routeKeys) if (this.#routes.get(key) === p) this.#routes.delete(key);
    p.routeKeys.clear();
    const typeKey = `${p.type.kind}\u0000${p.type.name}`;
    if (this.#byTypeName.get(typeKey) === p) this.#byTypeName.delete(typeKey);
  }

  /** Routes `key` to `p`, replacing an earlier assignment; returns the partition it routed to before, if any. */
  assign(key: string, p: PartitionState<C>): PartitionState<C> | undefined {
    const before = this.#routes.get(key);
    before?.routeKeys.delete(key);
    this.#routes.set(key, p);
    p.routeKeys.add(key);
    return before;
  }

  /** Removes the assignment of `key`; false when there was none. */
  unassign(key: string): boolean {
    const p = this.#routes.get(key);
    if (p === undefined) return false;
    p.routeKeys.delete(key);
    this.#routes.delete(key);
    return true;
  }

  /** The active partition that serves `request` (or the active default partition), or null. Throws `PartitionError` when a custom router misbehaves. */
  route(request: PartitionRequest): PartitionState<C> | null {
    const routing = this.routing;
    let chosen: PartitionState<C> | undefined;
    if (typeof routing === 'object') {
      let id: unknown;
      try {
        id = routing.route(request);
      } catch (error) {
        throw new PartitionError('unrouted', 'The custom router threw', { cause: error });
      }
      if (id !== null && id !== undefined && typeof id !== 'string') {
        throw new PartitionError('unrouted', `The custom router returned ${typeof id}, not a partition id or null`);
      }
      if (typeof id === 'string') chosen = this.partitions.get(id);
    } else if (routing === 'loadBalanced') {
      chosen = this.#leastLoaded();
    } else {
      const { field, kind } = ROUTING_KEYS[routing];
      const key = request[field];
      if (typeof key === 'string' && key !== '') {
        chosen = this.#routes.get(key) ?? this.#byTypeName.get(`${kind}\u0000${key}`) ?? this.partitions.get(key);
      }
    }
    if (chosen !== undefined && chosen.state === 'active') return chosen;
    if (this.defaultPartition !== null) {
      const fallback = this.partitions.get(this.defaultPartition);
      if (fallback !== undefined && fallback.state === 'active') return fallback;
    }
    return null;
  }

  #leastLoaded(): PartitionState<C> | undefined {
    let best: PartitionState<C> | undefined;
    let bestLoad = Number.POSITIVE_INFINITY;
    for (const p of this.partitions.values()) {
      if (p.state !== 'active') continue;
      const load = (p.granted + p.queue.size) / p.limits.maxConnections;
      if (load < bestLoad || (load === bestLoad && best !== undefined && p.granted < best.granted)) {
        best = p;
        bestLoad = load;
      }
    }
    return best;
  }

  /** The `PartitionError` (`'unrouted'`) for a request {@link route} found no partition for, saying why. */
  unroutedError(request: PartitionRequest): PartitionError {
    const routing = this.routing;
    let what: string;
    if (typeof routing === 'object') what = 'the custom router chose no active partition';
    else if (routing === 'loadBalanced') what = 'LoadBalanced routing found no active partition';
    else {
      const { field } = ROUTING_KEYS[routing];
      const key = request[field];
      what =
        typeof key === 'string' && key !== ''
          ? `no partition serves ${field} '${key}'`
          : `the request has no ${field}, which ${routing} routing needs`;
    }
    const fallback =
      this.defaultPartition === null
        ? 'and no defaultPartition is set'
        : `and the default partition '${this.defaultPartition}' is not active`;
    return new PartitionError('unrouted', `No partition for the request: ${what}, ${fallback}`);
  }
}
