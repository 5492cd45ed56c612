import type { PoolHandle } from './pool-handle.js';
import { DATABASE } from './scopes.js';
import { Wake } from './wake.js';

/** @internal A create waiting for a slot. */
export interface LeaseRequest {
  readonly start: number;
  settled: boolean;
  resolve(): void;
  reject(error: unknown): void;
  cleanup(): void;
}

/** @internal Settles a request: granted (`error` undefined) or failed. */
export function settle(req: LeaseRequest, error?: unknown): void {
  req.settled = true;
  req.cleanup();
  if (error === undefined) req.resolve();
  else req.reject(error);
}

/** @internal The connections opened through one wrapped factory shape: same scopes. */
export class LeaseGroup {
  /** Connections open or being opened with a slot (leased in Redis, or granted by the fallback policy). */
  open = 0;
  /** Lease ids registered in Redis. */
  ids: string[] = [];
  readonly queue: LeaseRequest[] = [];
  pumping = false;
  /** True while the current round of requests has been refused (one `refused` event per round). */
  refusing = false;
  readonly wake = new Wake();
  readonly pools = new Set<PoolHandle>();
  /** Connections created through this group and not closed (a count, in case a factory repeats values). */
  readonly conns = new Map<unknown, number>();
  readonly scopes: readonly string[];

  constructor(readonly tenant: string | null) {
    this.scopes = tenant === null ? [DATABASE] : [DATABASE, `t:${tenant}`];
  }

  has(scope: string): boolean {
    return this.scopes.includes(scope);
  }

  prune(): void {
    let i = 0;
    while (i < this.queue.length) {
      if ((this.queue[i] as LeaseRequest).settled) this.queue.splice(i, 1);
      else i++;
    }
  }
}
