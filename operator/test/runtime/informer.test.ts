// The informer wrapper over the real API server: list (paginated), watch, bookmarks, a watch the
// server closes (short server-side timeout), and relist after "too old resource version".
import { CoreV1Api, type V1ConfigMap } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ResilientInformer, stripManagedFields } from '../../src/runtime/informer.js';
import { apiListWatch, isGone, type ListWatch } from '../../src/runtime/list-watch.js';
import { createLogger } from '../../src/runtime/logger.js';
import { createRegistry } from '../../src/runtime/metrics.js';
import { createTestNamespace, waitFor, type TestNamespace } from '../../../test/support/cluster.js';

const LABEL = 'lathe.dev/informer-test';

describe('ResilientInformer against the API server', () => {
  let ns: TestNamespace;
  let core: CoreV1Api;
  let informer: ResilientInformer<V1ConfigMap> | undefined;
  const logger = createLogger({ level: process.env.LATHE_LOG_LEVEL ? undefined : 'error' });

  beforeAll(async () => {
    ns = await createTestNamespace('lathe-informer');
    core = ns.kc.makeApiClient(CoreV1Api);
  });
  afterAll(async () => {
    await ns?.cleanup();
  });
  afterEach(async () => {
    await informer?.stop();
    informer = undefined;
  });

  function cm(name: string, value: string): V1ConfigMap {
    return { metadata: { name, namespace: ns.name, labels: { [LABEL]: 'yes' } }, data: { value } };
  }

  async function restarts(registry: ReturnType<typeof createRegistry>, reason: string): Promise<number> {
    const data = await registry.getSingleMetric('lathe_informer_restarts_total')!.get();
    return data.values.filter((v) => v.labels.reason === reason).reduce((a, v) => a + v.value, 0);
  }

  it('lists (across pages) and sees creates, updates and deletes', async () => {
    for (let i = 0; i < 5; i++) await core.createNamespacedConfigMap({ namespace: ns.name, body: cm(`pre-${i}`, 'v0') });
    // Not matching the selector: must never show up.
    await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: 'other' }, data: {} } });

    const events: string[] = [];
    informer = new ResilientInformer<V1ConfigMap>({
      name: 'configmaps',
      listWatch: apiListWatch(ns.client, { resource: { version: 'v1', plural: 'configmaps' }, namespace: ns.name, labelSelector: `${LABEL}=yes`, pageSize: 2 }),
      logger,
      resyncMs: 0,
      relistMs: 0,
      watchdogMs: 120_000,
      transform: stripManagedFields,
    });
    informer.on('add', (o) => events.push(`add ${o.metadata!.name}`));
    informer.on('update', (a, b) => events.push(`update ${b.metadata!.name} ${a.data?.value}->${b.data?.value}`));
    informer.on('delete', (o) => events.push(`delete ${o.metadata!.name}`));
    await informer.start();

    expect(informer.list(ns.name).map((o) => o.metadata!.name).sort()).toEqual(['pre-0', 'pre-1', 'pre-2', 'pre-3', 'pre-4']);
    const listed = informer.get(ns.name, 'pre-0')!;
    // Listed items get the kind the list response left out, and lose managedFields.
    expect(listed.apiVersion).toBe('v1');
    expect(listed.kind).toBe('ConfigMap');
    expect(listed.metadata!.managedFields).toBeUndefined();

    await core.createNamespacedConfigMap({ namespace: ns.name, body: cm('live', 'v1') });
    await waitFor('add of live', () => informer!.get(ns.name, 'live'), 10_000, 50);
    await core.replaceNamespacedConfigMap({ name: 'live', namespace: ns.name, body: cm('live', 'v2') });
    await waitFor('update of live', () => informer!.get(ns.name, 'live')?.data?.value === 'v2', 10_000, 50);
    await core.deleteNamespacedConfigMap({ name: 'live', namespace: ns.name });
    await waitFor('delete of live', () => informer!.get(ns.name, 'live') === undefined, 10_000, 50);

    expect(events.filter((e) => e.includes('live'))).toEqual(['add live', 'update live v1->v2', 'delete live']);
    expect(events.some((e) => e.includes('other'))).toBe(false);
    const watched = informer.list(ns.name);
    expect(watched).toHaveLength(5);
  });

  it('re-establishes a watch the server closed and keeps seeing changes', async () => {
    const registry = createRegistry({ defaultMetrics: false });
    informer = new ResilientInformer<V1ConfigMap>({
      name: 'configmaps-short',
      // The server ends each watch after 1-2 s (timeoutSeconds); the informer must come back.
      listWatch: apiListWatch(ns.client, { resource: { version: 'v1', plural: 'configmaps' }, namespace: ns.name, labelSelector: `${LABEL}=yes`, watchTimeoutSeconds: 1 }),
      logger,
      metrics: registry,
      resyncMs: 0,
      relistMs: 0,
      watchdogMs: 120_000,
      backoff: { initialMs: 50, maxMs: 500 },
    });
    await informer.start();
    await waitFor('two server-side watch closes', async () => (await restarts(registry, 'watch_closed')) >= 2, 15_000, 100);
    expect(await restarts(registry, 'watch_error')).toBe(0);
    await core.createNamespacedConfigMap({ namespace: ns.name, body: cm('after-close', 'x') });
    await waitFor('event after the watch was re-established', () => informer!.get(ns.name, 'after-close'), 10_000, 50);
    await core.deleteNamespacedConfigMap({ name: 'after-close', namespace: ns.name });
    await waitFor('delete after re-establish', () => informer!.get(ns.name, 'after-close') === undefined, 10_000, 50);
  });

  // A watch from a long-compacted resourceVersion gets 410 from a server that has compacted (every
  // 5 min by default); a fresh cluster may still replay from that version instead. The informer
  // must end up correct either way, and when the server did say 410, it must have relisted.
  it('survives a watch from a stale resourceVersion (410 → relist, or replay)', async () => {
    const registry = createRegistry({ defaultMetrics: false });
    const real = apiListWatch<V1ConfigMap>(ns.client, { resource: { version: 'v1', plural: 'configmaps' }, namespace: ns.name, labelSelector: `${LABEL}=yes` });
    let watches = 0;
    let lists = 0;
    let serverSaidGone = false;
    const stale: ListWatch<V1ConfigMap> = {
      list: () => {
        lists++;
        return real.list();
      },
      watch: (rv, onEvent, onDone) =>
        real.watch(
          watches++ === 0 ? '1' : rv,
          (type, obj) => {
            if (type === 'ERROR' && isGone(obj)) serverSaidGone = true;
            onEvent(type, obj);
          },
          (err) => {
            if (isGone(err)) serverSaidGone = true;
            onDone(err);
          },
        ),
    };
    informer = new ResilientInformer<V1ConfigMap>({
      name: 'configmaps-stale',
      listWatch: stale,
      logger,
      metrics: registry,
      resyncMs: 0,
      relistMs: 0,
      watchdogMs: 120_000,
      backoff: { initialMs: 50, maxMs: 500 },
    });
    await informer.start();
    await core.createNamespacedConfigMap({ namespace: ns.name, body: cm('after-stale', 'x') });
    await waitFor('event after the stale watch', () => informer!.get(ns.name, 'after-stale'), 10_000, 50);
    const fresh = await real.list();
    const names = (xs: V1ConfigMap[]): string[] => xs.map((o) => `${o.metadata!.name}@${o.metadata!.resourceVersion}`).sort();
    expect(names(informer.list(ns.name))).toEqual(names(fresh.items));
    if (serverSaidGone) {
      expect(await restarts(registry, 'gone')).toBeGreaterThanOrEqual(1);
      expect(lists).toBeGreaterThanOrEqual(2);
    }
    console.log(`stale watch: server ${serverSaidGone ? 'answered 410; informer relisted' : 'replayed from the old version'}`);
  });
});
