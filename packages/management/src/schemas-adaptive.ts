import { z } from '@hono/zod-openapi';

const int = z.number().int().min(0);
const nullableNum = z.number().nullable();

/** The last change of an adaptive limit. */
export const AdaptiveLimitChange = z
  .object({
    target: z.string(),
    algorithm: z.string(),
    reason: z.string().openapi({
      description:
        "'start', 'demand' (callers waited, latency flat), 'latency' (latency rose without throughput gain), 'errors', 'ceiling', 'floor' or 'external'.",
    }),
    previous: int,
    limit: int,
    latencyMs: nullableNum,
    baselineMs: nullableNum,
    throughput: nullableNum,
    inflight: nullableNum,
    waiting: int,
    gradient: nullableNum,
    at: z.number().openapi({ description: 'Epoch ms.' }),
  })
  .openapi('AdaptiveLimitChange');

/** `GET /pools/{pool}/adaptive`, and `adaptive` in the overview. */
export const AdaptiveLimit = z
  .object({
    target: z.string(),
    algorithm: z.string().openapi({ description: "'gradient', 'aimd', or a custom algorithm's name." }),
    state: z.enum(['running', 'stopped']),
    limit: int.openapi({ description: 'Connections the limiter allows now (what pool.size().limit shows).' }),
    estimate: z.number(),
    floor: int,
    ceiling: int,
    warmingUp: z.boolean(),
    baselineMs: nullableNum.openapi({ description: 'The no-load use time the latency is compared with (Gradient).' }),
    latencyMs: nullableNum.openapi({ description: "The last judged interval's mean use time." }),
    throughput: nullableNum.openapi({ description: 'Borrows ended per second in the last judged interval.' }),
    inflight: nullableNum,
    gradient: nullableNum,
    intervals: int,
    increases: int,
    decreases: int,
    lastChange: AdaptiveLimitChange.nullable(),
  })
  .openapi('AdaptiveLimit', {
    description:
      "The pool's adaptive limit (@pool/adaptive's AdaptiveStatistics): where it stands, within which bounds, and why it last moved.",
  });
