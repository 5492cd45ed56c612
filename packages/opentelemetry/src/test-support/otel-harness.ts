import { type Attributes, context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { type DataPoint, DataPointType, type Histogram, MeterProvider, type MetricData, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

/** A reader the test collects from when it wants (no timer). */
class TestReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** A metric as collected: its points by attributes. */
export interface Collected {
  data: MetricData;
  /** The value (sum / gauge) of the point with exactly these attributes; undefined when there is none. */
  value(attrs: Attributes): number | undefined;
  /** The histogram point with exactly these attributes. */
  histogram(attrs: Attributes): Histogram | undefined;
  /** Every point's attributes. */
  attributes(): Attributes[];
}

function sameAttributes(a: Attributes, b: Attributes): boolean {
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a[k] === b[k]);
}

/**
 * An OpenTelemetry SDK in memory: a MeterProvider with a reader the test collects from, a tracer
 * provider exporting to memory, and the AsyncLocalStorage context manager (what NodeSDK registers).
 */
export class OtelHarness {
  readonly reader = new TestReader();
  readonly meterProvider = new MeterProvider({ readers: [this.reader] });
  readonly spanExporter = new InMemorySpanExporter();
  readonly tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(this.spanExporter)] });
  readonly #contextManager = new AsyncLocalStorageContextManager();

  constructor() {
    this.#contextManager.enable();
    context.setGlobalContextManager(this.#contextManager);
  }

  /** Collects every metric, by name. */
  async collect(): Promise<Map<string, Collected>> {
    const { resourceMetrics, errors } = await this.reader.collect();
    if (errors.length > 0) throw errors[0];
    const out = new Map<string, Collected>();
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const data of scope.metrics) {
        const points = data.dataPoints as DataPoint<unknown>[];
        const find = (attrs: Attributes) => points.find((p) => sameAttributes(p.attributes, attrs));
        out.set(data.descriptor.name, {
          data,
          value: (attrs) => {
            if (data.dataPointType === DataPointType.HISTOGRAM) throw new Error(`${data.descriptor.name} is a histogram`);
            return find(attrs)?.value as number | undefined;
          },
          histogram: (attrs) => {
            if (data.dataPointType !== DataPointType.HISTOGRAM) throw new Error(`${data.descriptor.name} is not a histogram`);
            return find(attrs)?.value as Histogram | undefined;
          },
          attributes: () => points.map((p) => p.attributes),
        });
      }
    }
    return out;
  }

  /** The finished spans. */
  spans(): ReadableSpan[] {
    return this.spanExporter.getFinishedSpans();
  }

  /** A tracer of the test's own (for the caller's spans). */
  tracer() {
    return this.tracerProvider.getTracer('test');
  }

  async close(): Promise<void> {
    await this.meterProvider.shutdown();
    await this.tracerProvider.shutdown();
    context.disable();
    trace.disable();
  }
}
