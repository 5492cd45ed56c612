import { BudgetRedisError } from '../errors.js';
import type {
  BudgetMessage,
  BudgetStore,
  ClaimReply,
  ClaimRequest,
  RawSnapshot,
  RenewReply,
  RenewRequest,
  ShrinkRequest,
  TakeReply,
  TakeRequest,
} from '../store.js';

/**
 * An in-memory stand-in for Redis with the scripts' semantics (capacity, expiry, epochs, claims,
 * pub/sub; fair sharing too), driven by `Date.now()` so tests can run it under fake timers. It can be
 * made unreachable, made to lose its state (a restart without persistence), and counts calls.
 */
export class MemoryServer {
  epoch: string | null = null;
  createdAt = 0;
  recoverUntil = 0;
  readonly instances = new Map<string, number>();
  readonly leases = new Map<string, Map<string, string[]>>();
  readonly wanting = new Map<string, number>();
  readonly gate = new Map<string, number>();
  readonly lastShrink = new Map<string, ShrinkRequest>();
  readonly subscribers = new Set<(m: BudgetMessage) => void>();
  readonly connectionWatchers = new Set<(event: 'ready' | 'lost') => void>();
  reachable = true;
  /** Calls per operation. */
  readonly calls: Record<string, number> = {};

  view(instanceId: string): MemoryStore {
    return new MemoryStore(this, instanceId);
  }

  /** Redis goes away (calls fail) or comes back ('ready' is announced). */
  setReachable(reachable: boolean): void {
    if (this.reachable === reachable) return;
    this.reachable = reachable;
    for (const w of [...this.connectionWatchers]) w(reachable ? 'ready' : 'lost');
  }

  /** A restart without persistence: everything is gone. */
  loseState(): void {
    this.epoch = null;
    this.createdAt = 0;
    this.recoverUntil = 0;
    this.instances.clear();
    this.leases.clear();
    this.wanting.clear();
    this.gate.clear();
    this.lastShrink.clear();
  }

  used(scope: string): number {
    let n = 0;
    for (const l of this.leases.values()) for (const scopes of l.values()) if (scopes.includes(scope)) n++;
    return n;
  }

  held(instance: string, scope: string): number {
    let n = 0;
    for (const scopes of this.leases.get(instance)?.values() ?? []) if (scopes.includes(scope)) n++;
    return n;
  }

  publish(m: BudgetMessage): void {
    for (const s of [...this.subscribers]) queueMicrotask(() => s(m));
  }

  sweep(now: number): number {
    let freed = 0;
    for (const [inst, expiry] of [...this.instances]) {
      if (expiry > now) continue;
      freed += this.leases.get(inst)?.size ?? 0;
      this.leases.delete(inst);
      this.instances.delete(inst);
    }
    for (const [k, until] of [...this.wanting]) if (until <= now) this.wanting.delete(k);
    return freed;
  }

  notifyFreed(n: number): void {
    if (n > 0 && this.wanting.size > 0) this.publish({ type: 'freed', n });
  }
}

/** One instance's connection to a {@link MemoryServer}. */
export class MemoryStore implements BudgetStore {
  constructor(
    readonly server: MemoryServer,
    readonly me: string,
  ) {}

  async #enter(op: string): Promise<number> {
    this.server.calls[op] = (this.server.calls[op] ?? 0) + 1;
    await Promise.resolve();
    if (!this.server.reachable) throw new BudgetRedisError(op, false, new Error('connect ECONNREFUSED'));
    return Date.now();
  }

  #check(epoch: string): 'EPOCH' | 'UNKNOWN' | null {
    if (this.server.epoch !== epoch) return 'EPOCH';
    if (!this.server.instances.has(this.me)) return 'UNKNOWN';
    return null;
  }

  #mine(): Map<string, string[]> {
    let m = this.server.leases.get(this.me);
    if (m === undefined) {
      m = new Map();
      this.server.leases.set(this.me, m);
    }
    return m;
  }

  async take(req: TakeRequest): Promise<TakeReply> {
    const now = await this.#enter('take');
    const s = this.server;
    s.notifyFreed(s.sweep(now));
    const bad = this.#check(req.epoch);
    if (bad !== null) return { status: bad };
    s.instances.set(this.me, now + req.ttlMs);
    const live = s.instances.size;
    let granted = 0;
    let reason = '' as '' | 'capacity' | 'fairness' | 'recovering';
    let blocked = -1;
    const share = (i: number): number => Math.max(1, Math.floor((req.scopes[i]?.limit ?? 0) / live));
    if (s.recoverUntil > now) reason = 'recovering';
    else {
      for (const id of req.ids) {
        if (this.#mine().has(id)) {
          granted++;
          continue;
        }
        req.scopes.forEach((sl, i) => {
          if (reason !== '') return;
          if (s.used(sl.scope) >= sl.limit) {
            reason = 'capacity';
            blocked = i;
            return;
          }
          if (s.held(this.me, sl.scope) >= share(i)) {
            for (const [k] of s.wanting) {
              const [scope, inst] = k.split('\n');
              if (scope === sl.scope && inst !== this.me && s.held(inst as string, sl.scope) < share(i)) {
                reason = 'fairness';
                blocked = i;
                return;
              }
            }
          }
        });
        if (reason !== '') break;
        this.#mine().set(
          id,
          req.scopes.map((x) => x.scope),
        );
        granted++;
      }
    }
    let shrinkRequested = false;
    if (reason === '') for (const sl of req.scopes) s.wanting.delete(`${sl.scope}\n${this.me}`);
    else if (blocked >= 0) {
      const scope = (req.scopes[blocked] as { scope: string }).scope;
      s.wanting.set(`${scope}\n${this.me}`, now + req.wantTtlMs);
      if (reason === 'capacity' && s.held(this.me, scope) < share(blocked) && (s.gate.get(scope) ?? 0) <= now) {
        s.gate.set(scope, now + req.shrinkGapMs);
        const request = { scope, share: share(blocked), from: this.me, at: now };
        s.lastShrink.set(scope, request);
        s.publish({ type: 'shrink', live, ...request });
        shrinkRequested = true;
      }
    }
    return {
      status: 'OK',
      granted,
      reason,
      retryMs: reason === 'recovering' ? s.recoverUntil - now : 0,
      live,
      shrinkRequested,
      used: req.scopes.map((x) => s.used(x.scope)),
    };
  }

  async giveBack(ids: readonly string[]): Promise<{ returned: number; held: number }> {
    const now = await this.#enter('giveBack');
    const s = this.server;
    const freed = s.sweep(now);
    let n = 0;
    const mine = s.leases.get(this.me);
    for (const id of ids) if (mine?.delete(id)) n++;
    s.notifyFreed(freed + n);
    return { returned: n, held: mine?.size ?? 0 };
  }

  async renew(req: RenewRequest): Promise<RenewReply> {
    const now = await this.#enter('renew');
    const s = this.server;
    s.notifyFreed(s.sweep(now));
    const bad = this.#check(req.epoch);
    if (bad !== null) return { status: bad };
    s.instances.set(this.me, now + req.ttlMs);
    return {
      status: 'OK',
      leases: s.leases.get(this.me)?.size ?? 0,
      live: s.instances.size,
      recoverLeftMs: Math.max(0, s.recoverUntil - now),
      serverNowMs: now,
      used: req.scopes.map((x) => s.used(x)),
      mine: req.scopes.map((x) => s.held(this.me, x)),
      shrink: req.scopes.map((x) => s.lastShrink.get(x) ?? null),
    };
  }

  async claim(req: ClaimRequest): Promise<ClaimReply> {
    const now = await this.#enter('claim');
    const s = this.server;
    const swept = s.sweep(now);
    if (s.epoch === null) {
      s.epoch = `${now}-${this.me}`;
      s.createdAt = now;
      if (req.knownEpoch !== '') s.recoverUntil = now + req.ttlMs;
    } else if (req.knownEpoch !== '' && req.knownEpoch !== s.epoch && now < s.createdAt + req.ttlMs && s.recoverUntil === 0) {
      s.recoverUntil = s.createdAt + req.ttlMs;
    }
    const dropped = s.leases.get(this.me)?.size ?? 0;
    s.leases.delete(this.me);
    s.instances.set(this.me, now + req.ttlMs);
    const granted: boolean[] = [];
    for (const l of req.leases) {
      const scopes = l.scopes.map((i) => req.scopes[i] as { scope: string; limit: number });
      const fits = scopes.every((x) => s.used(x.scope) < x.limit);
      if (fits)
        this.#mine().set(
          l.id,
          scopes.map((x) => x.scope),
        );
      granted.push(fits);
    }
    s.notifyFreed(swept + Math.max(0, dropped - granted.filter(Boolean).length));
    return { epoch: s.epoch, live: s.instances.size, recoverLeftMs: Math.max(0, s.recoverUntil - now), granted };
  }

  async deregister(): Promise<number> {
    await this.#enter('deregister');
    const n = this.server.leases.get(this.me)?.size ?? 0;
    this.server.leases.delete(this.me);
    this.server.instances.delete(this.me);
    this.server.notifyFreed(n);
    return n;
  }

  async inspect(): Promise<RawSnapshot> {
    const now = await this.#enter('inspect');
    const s = this.server;
    s.sweep(now);
    const used: Record<string, number> = {};
    const held: RawSnapshot['held'] = [];
    for (const [inst, l] of s.leases) {
      const per = new Map<string, number>();
      for (const scopes of l.values()) for (const x of scopes) per.set(x, (per.get(x) ?? 0) + 1);
      for (const [scope, n] of per) {
        used[scope] = (used[scope] ?? 0) + n;
        held.push({ scope, instance: inst, leases: n });
      }
    }
    return {
      nowMs: now,
      epoch: s.epoch ?? '',
      createdAt: s.createdAt,
      recoverUntil: s.recoverUntil,
      instances: [...s.instances].map(([id, expiresAt]) => ({ id, expiresAt })),
      used,
      held,
      wanting: [...s.wanting].map(([k, until]) => {
        const [scope, instance] = k.split('\n');
        return { scope: scope as string, instance: instance as string, until };
      }),
    };
  }

  #listener: ((m: BudgetMessage) => void) | undefined;
  #watcher: ((event: 'ready' | 'lost') => void) | undefined;

  async subscribe(listener: (message: BudgetMessage) => void): Promise<void> {
    this.#listener = listener;
    this.server.subscribers.add(listener);
  }

  watchConnection(listener: (event: 'ready' | 'lost') => void): void {
    this.#watcher = listener;
    this.server.connectionWatchers.add(listener);
  }

  async whenReady(): Promise<void> {}

  async close(): Promise<void> {
    if (this.#listener !== undefined) this.server.subscribers.delete(this.#listener);
    if (this.#watcher !== undefined) this.server.connectionWatchers.delete(this.#watcher);
  }
}
