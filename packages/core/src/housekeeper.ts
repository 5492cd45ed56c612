import { now } from './clock.js';
import { type ConnectionBag, OPEN } from './connection-bag.js';
import { leakChannel } from './diagnostics.js';

/**
 * @internal Background maintenance (HikariCP's `HouseKeeper`), every `maintenanceIntervalMs` on an
 * unref'd timer: closes connections idle past `idleTimeoutMs` (oldest first, down to `minSize`), the
 * idle ones beyond `maxIdle` (least recently used first, down to `minSize`) and those due for
 * retirement, flags borrows held past `leakDetectionThresholdMs`, and refills to `minSize`.
 */
export class Housekeeper<C> {
  readonly #bag: ConnectionBag<C>;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(bag: ConnectionBag<C>) {
    this.#bag = bag;
  }

  start(): void {
    this.#timer = setInterval(() => this.run(), this.#bag.config.maintenanceIntervalMs);
    this.#timer.unref?.();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** One maintenance pass. */
  run(): void {
    const bag = this.#bag;
    if (bag.state !== OPEN) return;
    const start = now();
    const cfg = bag.config;
    const idleTimeout = cfg.idleTimeoutMs;
    bag.nextTickAt = start + cfg.maintenanceIntervalMs;
    for (const slot of bag.idle.oldestFirst()) {
      let reason = bag.retireReason(slot);
      if (reason === null && idleTimeout !== null && start - slot.idleSince >= idleTimeout && bag.slots.size > cfg.minSize) {
        reason = 'idle';
      }
      if (reason !== null) bag.closer.destroy(slot, reason);
    }
    const maxIdle = cfg.maxIdle;
    if (maxIdle !== null) {
      for (const slot of bag.idle.oldestFirst()) {
        if (bag.idle.size <= maxIdle || bag.slots.size <= cfg.minSize) break;
        bag.closer.destroy(slot, 'idle');
      }
    }
    const leakMs = cfg.leakDetectionThresholdMs;
    if (leakMs !== null) {
      for (const slot of bag.slots) {
        const h = slot.handle;
        // NaN (a borrow that began before times were measured) never compares as a leak.
        if (h === null || slot.leakReported || !(start - slot.borrowedAt >= leakMs)) continue;
        slot.leakReported = true;
        bag.counters.leaks++;
        const heldMs = start - slot.borrowedAt;
        if (bag.events.has('leak')) bag.events.emit('leak', { connection: h, heldMs, stack: h.stack });
        if (bag.log !== null) bag.log.leak(slot.id, heldMs, h.stack, h.context);
        if (leakChannel.hasSubscribers)
          leakChannel.publish({ pool: bag.name, connectionId: slot.id, heldMs, stack: h.stack, context: h.context });
      }
    }
    bag.opener.fill();
    if (bag.events.has('maintenance')) bag.events.emit('maintenance', { durationMs: now() - start });
  }
}
