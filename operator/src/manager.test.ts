// The manager's wiring of metrics, without a cluster: building it registers every metric family the
// dashboards and alerts use (the consistency check in test/observability/ relies on this), and the
// object store it is given is counted in lathe_s3_requests_total.
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../test/support/fakes.js';
import { metricFamilies, operatorExposition } from '../../test/support/operator-metrics.js';
import { MalformedObjectError } from './aws/s3-store.js';
import { countingStore } from './manager.js';
import { createRegistry } from './runtime/metrics.js';

describe('Manager metrics', () => {
  it('registers every family at build time, before anything runs', async () => {
    const families = metricFamilies(await operatorExposition());
    for (const [name, type] of [
      ['lathe_trainingruns', 'gauge'],
      ['lathe_trainingrun_waiting_seconds_max', 'gauge'],
      ['lathe_trainingrun_preemptions_total', 'counter'],
      ['lathe_inferenceservices', 'gauge'],
      ['lathe_inferenceservice_rollbacks_total', 'counter'],
      ['lathe_s3_requests_total', 'counter'],
      ['lathe_api_writes_total', 'counter'],
      ['lathe_aws_access', 'gauge'],
      ['controller_runtime_reconcile_total', 'counter'],
      ['controller_runtime_reconcile_errors_total', 'counter'],
      ['controller_runtime_reconcile_time_seconds', 'histogram'],
      ['workqueue_depth', 'gauge'],
      ['leader_election_master_status', 'gauge'],
      ['lathe_informer_objects', 'gauge'],
      ['process_resident_memory_bytes', 'gauge'],
    ]) {
      expect(families.get(name!), name).toBe(type);
    }
  });

  it('counts S3 requests by operation and outcome', async () => {
    const registry = createRegistry({ defaultMetrics: false });
    const inner = new MemoryStore();
    const store = countingStore(inner, registry);
    await store.putJson('b', 'k', { a: 1 });
    await store.getJson('b', 'k');
    await store.getJson('b', 'missing'); // not found is an answer
    inner.down = true;
    await expect(store.getJson('b', 'k')).rejects.toThrow();
    await expect(store.headBucket('b')).rejects.toThrow();
    inner.down = false;
    inner.getJson = () => Promise.reject(new MalformedObjectError('s3://b/k is not valid JSON'));
    await expect(store.getJson('b', 'k')).rejects.toThrow(MalformedObjectError);
    const values = Object.fromEntries(
      (await registry.getSingleMetric('lathe_s3_requests_total')!.get()).values.filter((v) => v.value > 0).map((v) => [`${v.labels.operation}/${v.labels.outcome}`, v.value]),
    );
    expect(values).toEqual({ 'put/ok': 1, 'get/ok': 2, 'get/error': 1, 'head/error': 1, 'get/invalid': 1 });
  });
});
