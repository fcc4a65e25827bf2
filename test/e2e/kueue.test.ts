// Queued TrainingRuns against a real Kueue (test/support/kueue.ts), as a platform team runs it: a
// 4-GPU ClusterQueue on the GPU node pool, a LocalQueue, and the operator reading Workloads with the
// chart's kueue.enabled RBAC. Pods are kwok's (the GPU nodes are simulated); what is under test is
// what Kueue and Lathe do to the Jobs, the Workloads and the runs' status.
import { CustomObjectsApi, type V1Job, type V1Pod } from '@kubernetes/client-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeTrainingRun } from '../support/builders.js';
import { clients, createNamespace, deleteNamespace, ensureCrds, kubectl, waitFor, sleep } from '../support/cluster.js';
import { startOperator, metricSum, type OperatorProcess } from '../support/operator-process.js';
import { applyClusterQueue, applyLocalQueue, deleteQueues, startKueue, type KueueProcess } from '../support/kueue.js';
import { jobEnv } from '../support/sim-trainer.js';
import type { Workload } from '../../operator/src/k8s/kueue.js';

const { kc, core, batch } = clients();
const custom = kc.makeApiClient(CustomObjectsApi);
const QUEUE = 'team-a';
const RUNS = { group: 'lathe.dev', version: 'v1alpha1', plural: 'trainingruns' };
const WORKLOADS = { group: 'kueue.x-k8s.io', version: 'v1beta2', plural: 'workloads' };
let ns = '';
let kueue: KueueProcess | undefined;
let operator: OperatorProcess | undefined;

interface Run {
  metadata: { name: string };
  status?: {
    phase?: string;
    message?: string;
    preemptions?: number;
    queue?: { workload: string; clusterQueue?: string; preemptions?: number };
    conditions?: { type: string; status: string; reason: string; message: string }[];
  };
}

async function create(name: string, spec: Record<string, unknown> = {}): Promise<void> {
  const body = makeTrainingRun(name)
    .hyperparameters({ epochs: 2, batchSize: 4, learningRate: 0.0005 })
    .resources({ gpus: 2, cpu: '1', memory: '2Gi' })
    .podAnnotations({ 'sim.lathe.dev/hold': 'true' })
    .queue(QUEUE)
    .spec(spec)
    .manifest();
  await custom.createNamespacedCustomObject({ ...RUNS, namespace: ns, body });
}

const get = async (name: string) => (await custom.getNamespacedCustomObject({ ...RUNS, namespace: ns, name })) as Run;
const reason = (r: Run) => r.status?.conditions?.find((c) => c.type === 'Ready')?.reason;
const suspend = (name: string, on: boolean) => kubectl(['patch', 'trainingrun', name, '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { suspend: on } })]);

async function until(name: string, what: string, ok: (r: Run) => boolean, timeoutMs = 60_000): Promise<Run> {
  return waitFor(`TrainingRun ${name}: ${what}`, async () => {
    const r = await get(name);
    return ok(r) ? r : undefined;
  }, timeoutMs);
}
const phase = (name: string, p: string, timeoutMs?: number) => until(name, `phase ${p}`, (r) => r.status?.phase === p, timeoutMs);

async function podsOf(job: string): Promise<V1Pod[]> {
  return (await core.listNamespacedPod({ namespace: ns, labelSelector: `job-name=${job}` })).items.filter((p) => !p.metadata?.deletionTimestamp);
}
const running = (job: string, n = 1) =>
  waitFor(`${n} running pod(s) of ${job}`, async () => {
    const pods = (await podsOf(job)).filter((p) => p.status?.phase === 'Running');
    return pods.length >= n ? pods : undefined;
  });
const job = (name: string) => batch.readNamespacedJob({ name: `${name}-1`, namespace: ns });

async function workloadOf(name: string): Promise<Workload | undefined> {
  const j = await job(name);
  const list = (await custom.listNamespacedCustomObject({ ...WORKLOADS, namespace: ns })) as { items: Workload[] };
  return list.items.find((w) => w.metadata?.ownerReferences?.some((o) => o.uid === j.metadata!.uid));
}
const workload = (name: string) => waitFor(`the Workload of ${name}`, () => workloadOf(name));

async function warnings(name: string): Promise<string[]> {
  const events = await core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.kind=TrainingRun,involvedObject.name=${name}` });
  return events.items.filter((e) => e.type === 'Warning').map((e) => e.reason ?? '');
}

beforeAll(async () => {
  ensureCrds();
  kueue = await startKueue();
  applyClusterQueue();
  ns = await createNamespace(core, 'e2e-kueue', { 'pod-security.kubernetes.io/enforce': 'restricted' }, ['lathe-trainer']);
  applyLocalQueue(ns, QUEUE);
  operator = await startOperator({ env: { LATHE_KUEUE: 'true', LATHE_WATCH_NAMESPACES: ns }, chartValues: ['kueue.enabled=true'] });
}, 180_000);

afterEach(async () => {
  // Every test starts with the whole quota free: the runs go, their Jobs and Workloads with them.
  kubectl(['delete', 'trainingruns', '--all', '-n', ns, '--wait=true']);
  await waitFor('the Workloads to be gone', async () => {
    const list = (await custom.listNamespacedCustomObject({ ...WORKLOADS, namespace: ns })) as { items: unknown[] };
    return list.items.length === 0 || undefined;
  });
});

afterAll(async () => {
  const t0 = Date.now();
  await operator?.stop();
  if (kueue) deleteQueues(ns || undefined);
  await kueue?.stop();
  if (ns) await deleteNamespace(core, ns);
  console.log(`[kueue] torn down in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}, 300_000);

describe('TrainingRuns queued in Kueue', () => {
  it("admits what the quota holds, says Kueue's reason for the rest, and admits it when a run goes", async () => {
    await create('a');
    await create('b');
    await phase('a', 'Running');
    await phase('b', 'Running');
    // Kueue's flavor put its node labels on the pods.
    const [pod] = await running('a-1');
    expect(pod!.spec!.nodeSelector).toMatchObject({ 'lathe.dev/node-pool': 'gpu' });

    await create('c');
    const held = await until('c', "Kueue's quota message", (r) => Boolean(r.status?.message?.includes('insufficient unused quota')));
    expect(held.status!.phase).toBe('Queued');
    expect(held.status!.message).toContain('nvidia.com/gpu');
    expect(reason(held)).toBe('WaitingForAdmission');
    expect((await podsOf('c-1')).length).toBe(0);

    await custom.deleteNamespacedCustomObject({ ...RUNS, namespace: ns, name: 'a' });
    const admitted = await phase('c', 'Running', 90_000);
    expect(admitted.status!.queue).toMatchObject({ clusterQueue: 'lathe-gpu' });
  });

  it('suspends and resumes an admitted run through its Workload: pods gone, then back on the same Job', async () => {
    await create('admitted');
    const [before] = await running('admitted-1');
    const outputBefore = jobEnv(await job('admitted')).LATHE_OUTPUT_URI;
    suspend('admitted', true);
    const suspended = await phase('admitted', 'Suspended');
    expect(suspended.status!.conditions).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'Reconciling', status: 'False' })]));
    expect((await workload('admitted')).spec!.active).toBe(false);
    await waitFor('the suspended run\'s pods to be gone', async () => ((await podsOf('admitted-1')).length === 0 ? true : undefined));
    // Kueue keeps it suspended: it does not come back on its own.
    await sleep(3000);
    expect((await job('admitted')).spec!.suspend).toBe(true);
    expect((await podsOf('admitted-1')).length).toBe(0);

    suspend('admitted', false);
    const [after] = await running('admitted-1');
    expect(after!.metadata!.uid).not.toBe(before!.metadata!.uid);
    await phase('admitted', 'Running');
    // The same attempt, so the trainer finds its checkpoints where it left them.
    expect(jobEnv(await job('admitted')).LATHE_OUTPUT_URI).toBe(outputBefore);
    expect((await workload('admitted')).spec!.active).toBe(true);
  });

  it('suspends a pending run out of the queue, and resumes it into the queue', async () => {
    await create('full-1');
    await create('full-2');
    await phase('full-1', 'Running');
    await phase('full-2', 'Running');
    await create('waiting');
    await until('waiting', 'waiting for quota', (r) => Boolean(r.status?.message?.includes('insufficient unused quota')));
    suspend('waiting', true);
    await phase('waiting', 'Suspended');
    expect((await workload('waiting')).spec!.active).toBe(false);
    // Quota freed while suspended: it is not admitted.
    await custom.deleteNamespacedCustomObject({ ...RUNS, namespace: ns, name: 'full-1' });
    await sleep(4000);
    expect((await get('waiting')).status!.phase).toBe('Suspended');
    expect((await podsOf('waiting-1')).length).toBe(0);
    suspend('waiting', false);
    await phase('waiting', 'Running', 90_000);
  });

  it('does not submit a run created suspended until it resumes', async () => {
    await create('later', { suspend: true });
    const suspended = await phase('later', 'Suspended');
    expect(suspended.status!.message).toContain('submitted to Kueue LocalQueue team-a when resumed');
    const j = await job('later');
    expect(j.metadata!.labels!['kueue.x-k8s.io/queue-name']).toBeUndefined();
    await sleep(3000);
    expect(await workloadOf('later')).toBeUndefined();
    expect((await podsOf('later-1')).length).toBe(0);
    expect((await job('later')).spec!.suspend).toBe(true);

    suspend('later', false);
    await phase('later', 'Running', 90_000);
    expect((await job('later')).metadata!.labels!['kueue.x-k8s.io/queue-name']).toBe(QUEUE);
  });

  it('shows a LocalQueue that does not exist as Stalled, with a Warning that says what to do', async () => {
    await create('lost', { queue: 'no-such-queue' });
    const r = await until('lost', 'LocalQueueNotFound', (x) => reason(x) === 'LocalQueueNotFound');
    expect(r.status!.phase).toBe('Queued');
    expect(r.status!.message).toContain("LocalQueue no-such-queue doesn't exist");
    expect(r.status!.message).toContain(`create LocalQueue no-such-queue in namespace ${ns}`);
    expect(r.status!.conditions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'Stalled', status: 'True', reason: 'LocalQueueNotFound' }),
        expect.objectContaining({ type: 'Reconciling', status: 'False' }),
      ]),
    );
    await waitFor('a LocalQueueNotFound Warning', async () => ((await warnings('lost')).includes('LocalQueueNotFound') ? true : undefined));
  });

  it('counts and shows a preemption by a higher-priority run', async () => {
    await create('low-1', { workloadPriorityClassName: 'low' });
    await create('low-2', { workloadPriorityClassName: 'low' });
    await phase('low-1', 'Running');
    await phase('low-2', 'Running');
    expect((await job('low-1')).metadata!.labels!['kueue.x-k8s.io/priority-class']).toBe('low');

    await create('urgent', { workloadPriorityClassName: 'high' });
    await phase('urgent', 'Running', 90_000);
    const victim = await waitFor('one low run preempted', async () => {
      for (const n of ['low-1', 'low-2']) {
        const r = await get(n);
        if (r.status?.preemptions === 1) return r;
      }
      return undefined;
    });
    expect(victim.status!.phase).toBe('Queued');
    expect(reason(victim)).toBe('Preempted');
    expect(victim.status!.message).toContain('due to prioritization in the ClusterQueue');
    expect(victim.status!.queue).toMatchObject({ preemptions: 1 });
    await waitFor('a Preempted Warning', async () => ((await warnings(victim.metadata.name)).includes('Preempted') ? true : undefined));
    // Counted once: a later pass (resync, the Workload's own updates) adds nothing.
    await sleep(3000);
    expect((await get(victim.metadata.name)).status!.preemptions).toBe(1);
    expect(metricSum(await operator!.metrics(), 'lathe_trainingrun_preemptions_total', { object_namespace: ns, source: 'kueue' })).toBe(1);
  });

  it('admits a 2-worker run as one Workload of two pods', async () => {
    await create('ddp', { workers: 2, resources: { gpus: 1, cpu: '1', memory: '2Gi' } });
    await phase('ddp', 'Running');
    const w = await workload('ddp');
    expect(w.spec!.podSets).toEqual([expect.objectContaining({ count: 2 })]);
    expect((await running('ddp-1', 2)).length).toBe(2);
    const list = (await custom.listNamespacedCustomObject({ ...WORKLOADS, namespace: ns })) as { items: Workload[] };
    expect(list.items).toHaveLength(1);
  });

  it('changes nothing Kueue owns across an operator restart', async () => {
    await create('steady');
    await phase('steady', 'Running');
    const before: V1Job = await job('steady');
    const managers = (j: V1Job) => Object.fromEntries((j.metadata!.managedFields ?? []).map((m) => [`${m.manager}/${m.operation}`, JSON.stringify(m.fieldsV1)]));
    // Kueue's job reconciler owns the fields it set on admission.
    const kueueFields = Object.entries(managers(before)).filter(([k]) => k.startsWith('kueue')).map(([, v]) => v).join();
    expect(kueueFields).toContain('f:suspend');
    expect(kueueFields).toContain('f:nodeSelector');
    const wBefore = await workload('steady');

    await operator!.stop();
    operator = await startOperator({ env: { LATHE_KUEUE: 'true', LATHE_WATCH_NAMESPACES: ns }, chartValues: ['kueue.enabled=true'] });
    await sleep(5000);
    const after = await job('steady');
    expect(managers(after)).toEqual(managers(before));
    expect(after.spec!.suspend).toBe(false);
    expect((await workload('steady')).spec).toEqual(wBefore.spec);
    const metrics = await operator.metrics();
    expect(metricSum(metrics, 'lathe_api_writes_total', { resource: 'jobs' })).toBe(0);
    expect(metricSum(metrics, 'lathe_api_writes_total', { resource: 'workloads' })).toBe(0);
  });
});
