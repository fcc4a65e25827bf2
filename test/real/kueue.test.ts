// spec.suspend of a queued run with a real trainer: Kueue (test/support/kueue.ts) admits the run to
// the real node's pool, the run is suspended mid-training through its Workload, the trainer saves a
// checkpoint on the SIGTERM of its pod's deletion, and after the resume Kueue admits it again and
// the new pod starts from exactly that step. The kwok e2e suite covers Kueue's other states; only
// here is there a trainer to resume.
import { CustomObjectsApi, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clients, ensureCrds, kubectl, waitFor } from '../support/cluster.js';
import { applyClusterQueue, applyLocalQueue, deleteQueues, startKueue, type KueueProcess } from '../support/kueue.js';
import { startOperator, type OperatorProcess } from '../support/operator-process.js';
import { deleteNamespaceAndWait, followLogs, imageRef, requireRealNode, restrictedNamespace, seedTinyModel, tinyRun } from '../support/real-node.js';

const { kc, core } = clients();
const custom = kc.makeApiClient(CustomObjectsApi);
const RUNS = { group: 'lathe.dev', version: 'v1alpha1', plural: 'trainingruns' } as const;
const QUEUE = 'local';
let ns = '';
let kueue: KueueProcess | undefined;
let operator: OperatorProcess | undefined;

const phase = async (name: string) => ((await custom.getNamespacedCustomObject({ ...RUNS, namespace: ns, name })) as { status?: { phase?: string } }).status?.phase;
const trainers = async (name: string): Promise<V1Pod[]> =>
  (await core.listNamespacedPod({ namespace: ns, labelSelector: `lathe.dev/training-run=${name}` })).items.filter((p) => !p.metadata?.deletionTimestamp);

beforeAll(async () => {
  await requireRealNode(core);
  ensureCrds();
  kueue = await startKueue();
  applyClusterQueue('local');
  ns = await restrictedNamespace(core, 'real-kueue');
  applyLocalQueue(ns, QUEUE);
  operator = await startOperator({
    env: { LATHE_KUEUE: 'true', LATHE_WATCH_NAMESPACES: ns, LATHE_TRAINER_IMAGE: imageRef('trainer'), LATHE_PROGRESS_POLL_MS: '1000' },
    chartValues: ['kueue.enabled=true'],
  });
}, 300_000);

afterAll(async () => {
  await operator?.stop();
  if (ns) kubectl(['delete', 'trainingruns', '--all', '-n', ns, '--wait=true']);
  if (kueue) deleteQueues(ns || undefined);
  await kueue?.stop();
  if (ns) await deleteNamespaceAndWait(core, ns);
}, 300_000);

describe('a queued run in a real trainer pod', () => {
  it('suspended through Kueue mid-training, checkpoints on SIGTERM, and resumes from that step once admitted again', async () => {
    const name = 'queued-resume';
    const seed = seedTinyModel(`real/${ns}`);
    // Enough epochs that the run is still training when it is suspended.
    const body = tinyRun(name, seed).hyperparameters({ epochs: 400, batchSize: 8, learningRate: 0.01, maxSeqLength: 16, seed: 1 }).queue(QUEUE).manifest();
    await custom.createNamespacedCustomObject({ ...RUNS, namespace: ns, body });
    const first = await waitFor('the first trainer pod to be in epoch 3', async () => {
      const [p] = await trainers(name);
      return p && p.status?.phase === 'Running' && /epoch 3\//.test(kubectl(['logs', '-n', ns, p.metadata!.name!])) ? p : undefined;
    }, 240_000, 1000);
    // Kueue's flavor put the pool's label on the pod, beside the run's own.
    expect(first.spec!.nodeSelector).toMatchObject({ 'lathe.dev/node-pool': 'local' });
    const firstLogs = followLogs(ns, first.metadata!.name!);

    kubectl(['patch', 'trainingrun', name, '-n', ns, '--type=merge', '-p', '{"spec":{"suspend":true}}']);
    await waitFor('the run to be Suspended with no trainer pod', async () => ((await phase(name)) === 'Suspended' && (await trainers(name)).length === 0) || undefined, 180_000, 1000);
    firstLogs.stop();
    expect(firstLogs.text()).toMatch(/interrupted by SIGTERM; checkpoint saved/);
    const saved = [...firstLogs.text().matchAll(/checkpoint saved: \S+ \(epoch (\d+), step (\d+)\)/g)].at(-1);
    expect(saved, firstLogs.text().slice(-2000)).toBeDefined();

    kubectl(['patch', 'trainingrun', name, '-n', ns, '--type=merge', '-p', '{"spec":{"suspend":false}}']);
    const second = await waitFor('a new trainer pod once Kueue admits the run again', async () => (await trainers(name)).find((p) => p.metadata!.uid !== first.metadata!.uid && p.status?.phase === 'Running'), 180_000, 1000);
    const resumed = await waitFor('the new pod to resume from a checkpoint', () => /resuming from checkpoint \S+ \(epoch (\d+), step (\d+)\)/.exec(kubectl(['logs', '-n', ns, second.metadata!.name!])), 120_000, 1000);
    expect([resumed[1], resumed[2]]).toEqual([saved![1], saved![2]]);
    expect(await phase(name)).toBe('Running');
  });
});
