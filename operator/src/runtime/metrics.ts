// One prom-client Registry per operator process (and one per test, so tests never see each other's
// series). Components get-or-create their metrics on the registry they are given: several queues,
// controllers or informers share one metric family and differ only by label, as in controller-runtime.
import {
  Counter,
  Gauge,
  Histogram,
  Registry,
  collectDefaultMetrics,
  type CounterConfiguration,
  type GaugeConfiguration,
  type HistogramConfiguration,
} from 'prom-client';

export interface RegistryOptions {
  /** process_resident_memory_bytes, nodejs_eventloop_lag_seconds, ... Default true. */
  defaultMetrics?: boolean;
}

export function createRegistry(options: RegistryOptions = {}): Registry {
  const registry = new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  return registry;
}

function existing<M>(registry: Registry, name: string, ctor: abstract new (...args: never[]) => M): M | undefined {
  const m = registry.getSingleMetric(name);
  if (m === undefined) return undefined;
  if (!(m instanceof ctor)) throw new Error(`metric ${name} already registered with another type`);
  return m;
}

export function getOrCreateCounter<L extends string>(registry: Registry, config: CounterConfiguration<L>): Counter<L> {
  return existing<Counter<L>>(registry, config.name, Counter) ?? new Counter<L>({ ...config, registers: [registry] });
}

export function getOrCreateGauge<L extends string>(registry: Registry, config: GaugeConfiguration<L>): Gauge<L> {
  return existing<Gauge<L>>(registry, config.name, Gauge) ?? new Gauge<L>({ ...config, registers: [registry] });
}

export function getOrCreateHistogram<L extends string>(
  registry: Registry,
  config: HistogramConfiguration<L>,
): Histogram<L> {
  return existing<Histogram<L>>(registry, config.name, Histogram) ?? new Histogram<L>({ ...config, registers: [registry] });
}

/** prometheus.ExponentialBuckets(start, factor, count). */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  const out: number[] = [];
  for (let i = 0, v = start; i < count; i++, v *= factor) out.push(v);
  return out;
}
