// Events through the real API server: created on the involved object, aggregated on repeats (also
// by a fresh recorder, through the 409 path), and shown by `kubectl describe`.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { CoreV1Api, type CoreV1Event, type V1ConfigMap } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventRecorder, kubeEventSink } from '../../src/runtime/events.js';
import { createLogger } from '../../src/runtime/logger.js';
import { createTestNamespace, kubeconfigPath, type TestNamespace } from '../../../test/support/cluster.js';

const run = promisify(execFile);

describe('EventRecorder against the API server', () => {
  let ns: TestNamespace;
  let core: CoreV1Api;
  let obj: V1ConfigMap;
  const logger = createLogger({ level: process.env.LATHE_LOG_LEVEL ? undefined : 'error' });

  beforeAll(async () => {
    ns = await createTestNamespace('lathe-events');
    core = ns.kc.makeApiClient(CoreV1Api);
    obj = await core.createNamespacedConfigMap({ namespace: ns.name, body: { metadata: { name: 'subject' }, data: {} } });
    obj.apiVersion = 'v1';
    obj.kind = 'ConfigMap';
  });
  afterAll(async () => {
    await ns?.cleanup();
  });

  async function eventsFor(uid: string): Promise<CoreV1Event[]> {
    const list = await core.listNamespacedEvent({ namespace: ns.name, fieldSelector: `involvedObject.uid=${uid}` });
    return list.items;
  }

  it('records, aggregates repeats, and shows in kubectl describe', async () => {
    const rec = new EventRecorder({ sink: kubeEventSink(ns.client), logger, instance: 'test-pod' });
    expect(rec.record(obj, 'Normal', 'JobCreated', 'created Job subject-1')).toBe(true);
    await rec.flush();
    let events = await eventsFor(obj.metadata!.uid!);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: 'Normal',
      reason: 'JobCreated',
      message: 'created Job subject-1',
      count: 1,
      source: { component: 'lathe-operator' },
      reportingComponent: 'lathe-operator',
      reportingInstance: 'test-pod',
      involvedObject: { kind: 'ConfigMap', name: 'subject', namespace: ns.name, uid: obj.metadata!.uid },
    });

    rec.record(obj, 'Normal', 'JobCreated', 'created Job subject-1');
    await rec.flush();
    // A restarted operator (no local state) bumps the same Event through create → 409 → patch.
    const rec2 = new EventRecorder({ sink: kubeEventSink(ns.client), logger, instance: 'test-pod-2' });
    rec2.record(obj, 'Normal', 'JobCreated', 'created Job subject-1');
    rec2.record(obj, 'Warning', 'BackoffLimitExceeded', 'Job subject-1 failed');
    await rec2.flush();
    events = await eventsFor(obj.metadata!.uid!);
    expect(events).toHaveLength(2);
    const created = events.find((e) => e.reason === 'JobCreated')!;
    expect(created.count).toBe(3);
    expect(new Date(created.lastTimestamp!).getTime()).toBeGreaterThanOrEqual(new Date(created.firstTimestamp!).getTime());

    const kubectl = process.env.KUBECTL ?? 'kubectl';
    const { stdout } = await run(kubectl, ['describe', 'configmap', 'subject', '-n', ns.name], {
      env: { ...process.env, KUBECONFIG: kubeconfigPath() },
    });
    expect(stdout).toMatch(/Normal\s+JobCreated\s+.*lathe-operator\s+created Job subject-1/);
    expect(stdout).toMatch(/Warning\s+BackoffLimitExceeded\s+.*lathe-operator\s+Job subject-1 failed/);
    expect(stdout).toMatch(/\(x3 over/);
  });
});
