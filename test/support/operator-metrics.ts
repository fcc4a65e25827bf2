// The metrics the operator really exports, without a cluster: the Manager built in-process (its
// informers, controllers and leader elector register every metric family, and nothing is sent),
// its registry rendered as Prometheus scrapes it. Used by the manager's unit test and by the
// metric consistency check of the dashboards and alerts (test/observability/).
import { KubeClient } from '../../operator/src/client/kube-client.js';
import { Manager } from '../../operator/src/manager.js';
import { silentLogger } from '../../operator/src/runtime/logger.js';
import { configWith } from './config.js';
import { MemoryStore } from './fakes.js';

/** A manager that was built but never started; its client points at a closed port. */
export function offlineManager(): Manager {
  const client = new KubeClient({ server: 'http://127.0.0.1:9', tls: { rejectUnauthorized: true }, token: () => Promise.resolve(undefined), invalidate: () => undefined, source: 'offline (tests)' });
  const manager = new Manager({ client, config: configWith({ identity: 'offline', leaderElection: true }), logger: silentLogger(), store: new MemoryStore() });
  manager.build();
  return manager;
}

/** The operator's /metrics text, as a scrape returns it. */
export function operatorExposition(): Promise<string> {
  return offlineManager().registry.metrics();
}

/** Each metric family of the operator's registry and its label names (prom-client keeps them). */
export function operatorLabelNames(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const m of offlineManager().registry.getMetricsAsArray()) {
    const labels = (m as unknown as { labelNames?: readonly string[] }).labelNames ?? [];
    out.set(m.name, new Set(labels));
  }
  return out;
}

/** `# TYPE` lines of an exposition: family name to type. */
export function metricFamilies(exposition: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of exposition.matchAll(/^# TYPE (\S+) (\S+)$/gm)) out.set(m[1]!, m[2]!);
  return out;
}

/**
 * The series names a query can select for these families: a histogram's _bucket, _sum and _count,
 * a summary's quantiles (its own name), _sum and _count, and every other type's own name.
 */
export function seriesNames(families: Map<string, string>): Set<string> {
  const out = new Set<string>();
  for (const [name, type] of families) {
    if (type === 'histogram') for (const s of ['_bucket', '_sum', '_count']) out.add(name + s);
    else if (type === 'summary') for (const s of ['', '_sum', '_count']) out.add(name + s);
    else out.add(name);
  }
  return out;
}
