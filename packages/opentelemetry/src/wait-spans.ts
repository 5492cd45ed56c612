import { type Attributes, type Context, SpanKind, SpanStatusCode, type Tracer, trace } from '@opentelemetry/api';
import { type AcquireOutcome, ATTR_OUTCOME, ATTR_PARTITION, ATTR_POOL_NAME, ATTR_PRIORITY, WAIT_SPAN_NAME } from './names.js';

/** The epoch time in milliseconds, with the sub-millisecond precision of `performance.now()`. */
export function epochNow(): number {
  return performance.timeOrigin + performance.now();
}

/** The outcome of a failed acquire, from the error's stable `code` (`@pool/core`'s `PoolError` codes). */
export function outcomeOf(error: unknown): AcquireOutcome {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  switch (code) {
    case 'ERR_POOL_CONNECTION_TIMEOUT':
      return 'timeout';
    case 'ERR_POOL_EXHAUSTED':
      return 'rejected';
    case 'ERR_POOL_ACQUIRE_ABORTED':
      return 'aborted';
    case 'ERR_POOL_CLOSED':
      return 'closed';
    default:
      return 'error';
  }
}

/** What one acquire's wait span says. */
export interface WaitRecord {
  pool: string;
  /** The caller's context when it called `acquire()`: the span's parent. */
  parent: Context;
  /** Epoch ms when `acquire()` was called. */
  startedAt: number;
  /** Epoch ms when it settled. */
  endedAt: number;
  priority: string | undefined;
  partition: string | undefined;
  /** Undefined when a connection was handed over. */
  error: unknown;
}

/**
 * Makes wait spans: a span is written once the acquire settles, for waits of at least `thresholdMs`,
 * with the start time and parent captured when `acquire()` was called (so a wait that ends fast costs
 * no span at all, and the span still sits where the caller called). A wait span has no children.
 */
export class WaitSpans {
  readonly #tracer: Tracer;
  readonly #thresholdMs: number;
  readonly #requireParent: boolean;

  constructor(tracer: Tracer, thresholdMs: number, requireParent: boolean) {
    this.#tracer = tracer;
    this.#thresholdMs = thresholdMs;
    this.#requireParent = requireParent;
  }

  /** Whether a wait of `waitMs` gets a span. */
  wants(waitMs: number): boolean {
    return waitMs >= this.#thresholdMs;
  }

  /** Writes the span of one settled acquire, when its wait reached the threshold. */
  record(r: WaitRecord): void {
    if (!(r.endedAt - r.startedAt >= this.#thresholdMs)) return;
    if (this.#requireParent && trace.getSpanContext(r.parent) === undefined) return;
    const attributes: Attributes = { [ATTR_POOL_NAME]: r.pool, [ATTR_OUTCOME]: r.error === undefined ? 'acquired' : outcomeOf(r.error) };
    if (r.priority !== undefined) attributes[ATTR_PRIORITY] = r.priority;
    if (r.partition !== undefined) attributes[ATTR_PARTITION] = r.partition;
    const span = this.#tracer.startSpan(WAIT_SPAN_NAME, { kind: SpanKind.INTERNAL, startTime: r.startedAt, attributes }, r.parent);
    if (r.error !== undefined) {
      if (r.error instanceof Error) span.recordException(r.error, r.endedAt);
      span.setStatus({ code: SpanStatusCode.ERROR, message: r.error instanceof Error ? r.error.message : String(r.error) });
    }
    span.end(r.endedAt);
  }
}
