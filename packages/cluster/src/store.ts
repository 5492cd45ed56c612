import type { Cluster, Redis } from 'ioredis';
import { BudgetRedisError } from './errors.js';
import { type BudgetScript, SCRIPT_KEY_COUNT, SCRIPTS } from './scripts.js';

/** An ioredis client: a standalone or Sentinel-managed `Redis`, or a `Cluster`. */
export type BudgetRedisClient = Redis | Cluster;

/** One scope of a lease with its global limit (`*`: the database budget, `t:<tenant>`: a tenant's). */
export interface ScopeLimit {
  readonly scope: string;
  readonly limit: number;
}

/** @internal */
export interface TakeRequest {
  epoch: string;
  ttlMs: number;
  wantTtlMs: number;
  shrinkGapMs: number;
  scopes: readonly ScopeLimit[];
  ids: readonly string[];
}

/** @internal */
export type TakeReply =
  | { status: 'EPOCH' | 'UNKNOWN' }
  | {
      status: 'OK';
      granted: number;
      reason: '' | 'capacity' | 'fairness' | 'recovering';
      retryMs: number;
      live: number;
      shrinkRequested: boolean;
      /** Leases in use across the cluster, per scope of the request, after the take. */
      used: number[];
    };

/** @internal */
export interface ClaimRequest {
  knownEpoch: string;
  ttlMs: number;
  scopes: readonly ScopeLimit[];
  /** Each lease with the 0-based indexes of its scopes in `scopes`. */
  leases: readonly { id: string; scopes: readonly number[] }[];
}

/** @internal */
export interface ClaimReply {
  epoch: string;
  live: number;
  recoverLeftMs: number;
  granted: boolean[];
}

/** @internal */
export interface RenewRequest {
  epoch: string;
  ttlMs: number;
  scopes: readonly string[];
}

/** @internal */
export type RenewReply =
  | { status: 'EPOCH' | 'UNKNOWN' }
  | {
      status: 'OK';
      leases: number;
      live: number;
      recoverLeftMs: number;
      serverNowMs: number;
      used: number[];
      mine: number[];
      /** The last shrink request per scope, if any. */
      shrink: (ShrinkRequest | null)[];
    };

/** A fair-sharing request: instance `from`, below its `share`, asks the others to shrink (server time `at`). */
export interface ShrinkRequest {
  scope: string;
  share: number;
  from: string;
  at: number;
}

/** @internal */
export interface RawSnapshot {
  nowMs: number;
  epoch: string;
  createdAt: number;
  recoverUntil: number;
  instances: { id: string; expiresAt: number }[];
  used: Record<string, number>;
  held: { scope: string; instance: string; leases: number }[];
  wanting: { scope: string; instance: string; until: number }[];
}

/** A message published on the budget's channel. */
export type BudgetMessage = { type: 'freed'; n: number } | ({ type: 'shrink'; live: number } & ShrinkRequest);

/**
 * @internal Where a budget's state lives. The Redis implementation runs the Lua scripts; tests of the
 * client-side logic use an in-memory one.
 */
export interface BudgetStore {
  take(req: TakeRequest): Promise<TakeReply>;
  giveBack(ids: readonly string[]): Promise<{ returned: number; held: number }>;
  renew(req: RenewRequest): Promise<RenewReply>;
  claim(req: ClaimRequest): Promise<ClaimReply>;
  deregister(): Promise<number>;
  inspect(): Promise<RawSnapshot>;
  /** Starts listening to the budget's channel. Resolves once subscribed; rejects when it could not. */
  subscribe(listener: (message: BudgetMessage) => void): Promise<void>;
  /** Calls `listener('ready')` when the connection to Redis is (re)established, `'lost'` when it drops. */
  watchConnection(listener: (event: 'ready' | 'lost') => void): void;
  /** Resolves when the connection is ready, or after `timeoutMs` (whichever first). */
  whenReady(timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

interface CallableClient {
  call(command: string, ...args: (string | number)[]): Promise<unknown>;
  duplicate(): CallableClient;
  subscribe(...channels: string[]): Promise<unknown>;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  off(event: string, listener: (...args: unknown[]) => void): unknown;
  quit(): Promise<unknown>;
  disconnect(): void;
  readonly status: string;
  readonly options?: { keyPrefix?: string; redisOptions?: { keyPrefix?: string } };
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

function int(v: unknown): number {
  return typeof v === 'number' ? v : Number(v);
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : v instanceof Buffer ? v.toString() : String(v);
}

function pairs(list: unknown): [string, string][] {
  const a = Array.isArray(list) ? list : [];
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < a.length; i += 2) out.push([str(a[i]), str(a[i + 1])]);
  return out;
}

function parseShrink(scope: string, v: string): ShrinkRequest | null {
  const a = v.indexOf(',');
  const b = a < 0 ? -1 : v.indexOf(',', a + 1);
  if (b < 0) return null;
  return { scope, at: Number(v.slice(0, a)), share: Number(v.slice(a + 1, b)), from: v.slice(b + 1) };
}

function splitMember(m: string): { scope: string; instance: string } {
  const nl = m.indexOf('\n');
  return nl < 0 ? { scope: m, instance: '' } : { scope: m.slice(0, nl), instance: m.slice(nl + 1) };
}

/**
 * @internal A budget's state in Redis. Each operation is one script run with `EVALSHA` (falling back
 * to `EVAL`, which also loads the script, when the server answers `NOSCRIPT`, e.g. after a restart or
 * `SCRIPT FLUSH`), bounded by `commandTimeoutMs`.
 */
export class RedisBudgetStore implements BudgetStore {
  readonly #client: CallableClient;
  readonly #ownsClient: boolean;
  readonly #keys: string[];
  readonly #channel: string;
  readonly #me: string;
  readonly #keepMs: number;
  readonly #timeoutMs: number;
  #subscriber: CallableClient | undefined;
  readonly #unwatch: (() => void)[] = [];

  /**
   * @param base the key base, `<keyPrefix>{<name>}` (without the client's own `keyPrefix`).
   */
  constructor(client: BudgetRedisClient, ownsClient: boolean, base: string, instanceId: string, keepMs: number, timeoutMs: number) {
    this.#client = client as unknown as CallableClient;
    this.#ownsClient = ownsClient;
    this.#keys = [
      `${base}:inst`,
      `${base}:used`,
      `${base}:held`,
      `${base}:want`,
      `${base}:meta`,
      `${base}:gate`,
      `${base}:l:${instanceId}`,
    ];
    // ioredis adds its keyPrefix to KEYS, not to channel names: the scripts publish on the prefixed name.
    const opts = this.#client.options;
    const clientPrefix = opts?.keyPrefix ?? opts?.redisOptions?.keyPrefix ?? '';
    this.#channel = `${clientPrefix}${base}:events`;
    this.#me = instanceId;
    this.#keepMs = keepMs;
    this.#timeoutMs = timeoutMs;
  }

  /** The channel the scripts publish on (with the client's key prefix). */
  get channel(): string {
    return this.#channel;
  }

  async #run(s: BudgetScript, args: readonly (string | number)[]): Promise<unknown> {
    const client = this.#client;
    const all = [...this.#keys, this.#me, this.#keepMs, ...args];
    const attempt = async (): Promise<unknown> => {
      try {
        return await client.call('EVALSHA', s.sha, SCRIPT_KEY_COUNT, ...all);
      } catch (error) {
        if (isNoScript(error)) return client.call('EVAL', s.lua, SCRIPT_KEY_COUNT, ...all);
        throw error;
      }
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new BudgetRedisError(s.name, true)), this.#timeoutMs);
      timer.unref?.();
    });
    try {
      return await Promise.race([
        attempt().catch((error: unknown) => {
          throw new BudgetRedisError(s.name, false, error);
        }),
        timeout,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  async take(req: TakeRequest): Promise<TakeReply> {
    const args: (string | number)[] = [req.epoch, req.ttlMs, req.wantTtlMs, req.shrinkGapMs, req.scopes.length];
    for (const s of req.scopes) args.push(s.scope, s.limit);
    for (const id of req.ids) args.push(id);
    const r = (await this.#run(SCRIPTS.take, args)) as unknown[];
    const status = str(r[0]);
    if (status !== 'OK') return { status: status as 'EPOCH' | 'UNKNOWN' };
    return {
      status: 'OK',
      granted: int(r[1]),
      reason: str(r[2]) as '' | 'capacity' | 'fairness' | 'recovering',
      retryMs: int(r[3]),
      live: int(r[4]),
      shrinkRequested: int(r[5]) === 1,
      used: r.slice(6).map(int),
    };
  }

  async giveBack(ids: readonly string[]): Promise<{ returned: number; held: number }> {
    const r = (await this.#run(SCRIPTS.giveBack, ids)) as unknown[];
    return { returned: int(r[0]), held: int(r[1]) };
  }

  async renew(req: RenewRequest): Promise<RenewReply> {
    const r = (await this.#run(SCRIPTS.renew, [req.epoch, req.ttlMs, req.scopes.length, ...req.scopes])) as unknown[];
    const status = str(r[0]);
    if (status !== 'OK') return { status: status as 'EPOCH' | 'UNKNOWN' };
    const n = req.scopes.length;
    return {
      status: 'OK',
      leases: int(r[1]),
      live: int(r[2]),
      recoverLeftMs: int(r[3]),
      serverNowMs: int(r[4]),
      used: r.slice(5, 5 + n).map(int),
      mine: r.slice(5 + n, 5 + 2 * n).map(int),
      shrink: r.slice(5 + 2 * n, 5 + 3 * n).map((v, i) => parseShrink(req.scopes[i] as string, str(v))),
    };
  }

  async claim(req: ClaimRequest): Promise<ClaimReply> {
    const args: (string | number)[] = [req.knownEpoch, req.ttlMs, req.scopes.length];
    for (const s of req.scopes) args.push(s.scope, s.limit);
    for (const l of req.leases) args.push(l.id, l.scopes.map((i) => i + 1).join(','));
    const r = (await this.#run(SCRIPTS.claim, args)) as unknown[];
    return { epoch: str(r[1]), live: int(r[2]), recoverLeftMs: int(r[3]), granted: r.slice(4).map((f) => int(f) === 1) };
  }

  async deregister(): Promise<number> {
    return int(await this.#run(SCRIPTS.deregister, []));
  }

  async inspect(): Promise<RawSnapshot> {
    const r = (await this.#run(SCRIPTS.inspect, [])) as unknown[];
    const used: Record<string, number> = {};
    for (const [scope, n] of pairs(r[5])) used[scope] = int(n);
    return {
      nowMs: int(r[0]),
      epoch: str(r[1]),
      createdAt: int(r[2]),
      recoverUntil: int(r[3]),
      instances: pairs(r[4]).map(([id, score]) => ({ id, expiresAt: int(score) })),
      used,
      held: pairs(r[6]).map(([m, n]) => ({ ...splitMember(m), leases: int(n) })),
      wanting: pairs(r[7]).map(([m, until]) => ({ ...splitMember(m), until: int(until) })),
    };
  }

  async subscribe(listener: (message: BudgetMessage) => void): Promise<void> {
    const sub = this.#client.duplicate();
    this.#subscriber = sub;
    // A subscriber that cannot connect must not crash the process: the budget polls meanwhile, and
    // shrink requests also reach it through the heartbeat.
    sub.on('error', () => {});
    sub.on('message', (channel: unknown, message: unknown) => {
      if (channel !== this.#channel) return;
      let parsed: unknown;
      try {
        parsed = JSON.parse(str(message));
      } catch {
        return;
      }
      if (typeof parsed !== 'object' || parsed === null) return;
      const m = parsed as Record<string, unknown>;
      if (m.type === 'freed') listener({ type: 'freed', n: int(m.n) });
      else if (m.type === 'shrink' && typeof m.scope === 'string' && typeof m.from === 'string') {
        listener({ type: 'shrink', scope: m.scope, share: int(m.share), from: m.from, live: int(m.live), at: int(m.at) });
      }
    });
    // Subscribe whenever the subscriber connection becomes ready (first connect, and every reconnect:
    // SUBSCRIBE is idempotent), so a client that fails fast while disconnected still ends up subscribed.
    let first: (() => void) | undefined;
    const subscribed = new Promise<void>((resolve) => {
      first = resolve;
    });
    const attempt = (): void => {
      sub.subscribe(this.#channel).then(
        () => first?.(),
        () => {},
      );
    };
    sub.on('ready', attempt);
    if (sub.status === 'ready') attempt();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new BudgetRedisError('subscribe', true)), Math.max(this.#timeoutMs, 5_000));
      timer.unref?.();
    });
    try {
      await Promise.race([subscribed, late]);
    } finally {
      clearTimeout(timer);
    }
  }

  watchConnection(listener: (event: 'ready' | 'lost') => void): void {
    const onReady = (): void => listener('ready');
    const onLost = (): void => listener('lost');
    this.#client.on('ready', onReady);
    this.#client.on('close', onLost);
    this.#unwatch.push(() => {
      this.#client.off('ready', onReady);
      this.#client.off('close', onLost);
    });
  }

  whenReady(timeoutMs: number): Promise<void> {
    if (this.#client.status === 'ready') return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#client.off('ready', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      timer.unref?.();
      this.#client.on('ready', done);
    });
  }

  async close(): Promise<void> {
    for (const unwatch of this.#unwatch.splice(0)) unwatch();
    const sub = this.#subscriber;
    this.#subscriber = undefined;
    if (sub !== undefined) await quietly(sub);
    if (this.#ownsClient) await quietly(this.#client);
  }
}

async function quietly(client: CallableClient): Promise<void> {
  if (client.status === 'end') return;
  // QUIT waits for pending replies; a client that is not connected is simply disconnected.
  if (client.status !== 'ready') {
    client.disconnect();
    return;
  }
  try {
    await Promise.race([client.quit(), new Promise((r) => setTimeout(r, 1_000).unref?.())]);
  } catch {
    client.disconnect();
  }
  if ((client.status as string) !== 'end') client.disconnect();
}
