// InferenceService end to end, with the operator running as a process: resolution from a finished
// TrainingRun, S3 and the Hub, autoscaling and scale, and the rollback that keeps a bad model from
// taking down the one that serves.
import { AppsV1Api, AutoscalingV2Api, CustomObjectsApi, Watch, type V1Deployment, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTrainingRun } from '../support/builders.js';
import { clients, createNamespace, deleteNamespace, ensureCrds, kubectl, waitFor } from '../support/cluster.js';
import { startOperator, type OperatorProcess } from '../support/operator-process.js';
import { s3, writeArtifact } from '../support/sim-trainer.js';

const { kc, core, batch } = clients();
const custom = kc.makeApiClient(CustomObjectsApi);
const apps = kc.makeApiClient(AppsV1Api);
const autoscaling = kc.makeApiClient(AutoscalingV2Api);
const storage = s3();
let ns = '';
let operator: OperatorProcess;

interface Isvc {
  metadata: { name: string; generation?: number };
  status?: {
    modelUri?: string;
    servingModelUri?: string;
    lastReadyModelUri?: string;
    url?: string;
    replicas?: number;
    readyReplicas?: number;
    observedGeneration?: number;
    message?: string;
    conditions?: { type: string; status: string; reason: string; message: string }[];
  };
}

const api = { group: 'lathe.dev', version: 'v1alpha1' };

async function createService(name: string, spec: Record<string, unknown>): Promise<void> {
  await custom.createNamespacedCustomObject({
    ...api,
    namespace: ns,
    plural: 'inferenceservices',
    body: { apiVersion: 'lathe.dev/v1alpha1', kind: 'InferenceService', metadata: { name }, spec: { task: 'text-generation', replicas: { min: 1 }, resources: { cpu: '100m', memory: '256Mi' }, ...spec } },
  });
}

async function getService(name: string): Promise<Isvc> {
  return (await custom.getNamespacedCustomObject({ ...api, namespace: ns, plural: 'inferenceservices', name })) as Isvc;
}

function condition(s: Isvc, type: string) {
  return s.status?.conditions?.find((c) => c.type === type);
}

async function waitReady(name: string, timeoutMs = 60_000): Promise<Isvc> {
  return waitFor(`InferenceService ${name} Ready`, async () => {
    const s = await getService(name);
    return condition(s, 'Ready')?.status === 'True' && s.status?.observedGeneration === s.metadata.generation ? s : undefined;
  }, timeoutMs);
}

/** A TrainingRun that the simulated trainer finishes, leaving its artifact in S3. */
async function finishedRun(name: string, hold = false): Promise<{ finish: () => Promise<string> }> {
  await custom.createNamespacedCustomObject({
    ...api,
    namespace: ns,
    plural: 'trainingruns',
    body: makeTrainingRun(name).resources({ cpu: '100m', memory: '256Mi' }).podAnnotations({ 'sim.lathe.dev/hold': 'true' }).manifest(),
  });
  const finish = async () => {
    const job = await waitFor(`Job ${name}-1`, () => batch.readNamespacedJob({ name: `${name}-1`, namespace: ns }));
    const { checkpointUri } = await writeArtifact(storage, job);
    const pods = await waitFor('the trainer pod', async () => {
      const p = (await core.listNamespacedPod({ namespace: ns, labelSelector: `job-name=${name}-1` })).items.filter((x) => x.status?.phase === 'Running');
      return p.length ? p : undefined;
    });
    for (const p of pods) kubectl(['annotate', 'pod', '-n', ns, p.metadata!.name!, 'sim.lathe.dev/exit=0']);
    await waitFor(`TrainingRun ${name} Succeeded`, async () => {
      const r = (await custom.getNamespacedCustomObject({ ...api, namespace: ns, plural: 'trainingruns', name })) as { status?: { phase?: string } };
      return r.status?.phase === 'Succeeded';
    });
    return checkpointUri;
  };
  if (!hold) await finish();
  return { finish };
}

async function deployment(name: string): Promise<V1Deployment> {
  return waitFor(`Deployment ${name}`, () => apps.readNamespacedDeployment({ name, namespace: ns }));
}

function env(d: V1Deployment): Record<string, string> {
  return Object.fromEntries((d.spec!.template.spec!.containers[0]!.env ?? []).map((e) => [e.name, e.value ?? '']));
}

/**
 * Watches the pods of Deployment `name` (every ADDED/MODIFIED/DELETED the API server sends, from the
 * pods that exist now on) and, after each event, records how many Ready pods serve model `uri`:
 * the fewest seen is the availability of that model throughout, not only at the end.
 */
async function watchServingPods(name: string, uri: string): Promise<{ samples: number[]; otherModels: Set<string>; stop: () => Promise<number[]> }> {
  const dep = await deployment(name);
  const selector = Object.entries(dep.spec!.selector.matchLabels!).map(([k, v]) => `${k}=${v}`).join(',');
  const pods = new Map<string, V1Pod>();
  const samples: number[] = [];
  const otherModels = new Set<string>();
  let failed: unknown;
  const count = () =>
    [...pods.values()].filter((p) =>
      p.metadata?.annotations?.['lathe.dev/model-uri'] === uri && !p.metadata?.deletionTimestamp &&
      p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).length;
  const abort = await new Watch(kc).watch(`/api/v1/namespaces/${ns}/pods`, { labelSelector: selector }, (type, obj: V1Pod) => {
    if (type === 'DELETED') pods.delete(obj.metadata!.name!);
    else if (type === 'ADDED' || type === 'MODIFIED') pods.set(obj.metadata!.name!, obj);
    else return;
    const model = obj.metadata?.annotations?.['lathe.dev/model-uri'];
    if (model && model !== uri) otherModels.add(model);
    samples.push(count());
  }, (err) => {
    // A watch that ends before stop() would leave a gap in the record: the test fails on it.
    if (!stopped) failed = err ?? new Error('the pod watch ended early');
  });
  let stopped = false;
  return {
    samples,
    otherModels,
    stop: () => {
      stopped = true;
      abort.abort();
      if (failed) return Promise.reject(failed instanceof Error ? failed : new Error(`the pod watch ended: ${JSON.stringify(failed)}`));
      return Promise.resolve(samples);
    },
  };
}

beforeAll(async () => {
  ensureCrds();
  ns = await createNamespace(core, 'e2e-serve', { 'pod-security.kubernetes.io/enforce': 'restricted' }, ['lathe-trainer', 'lathe-inference']);
  operator = await startOperator();
}, 120_000);

afterAll(async () => {
  await operator?.stop();
  if (ns) await deleteNamespace(core, ns);
});

describe('InferenceService', () => {
  it('serves the artifact of a finished TrainingRun behind a Service, with its URL in status', async () => {
    await finishedRun('stories');
    const run = (await custom.getNamespacedCustomObject({ ...api, namespace: ns, plural: 'trainingruns', name: 'stories' })) as { status: { artifact: { uri: string } } };
    await createService('writer', { model: { trainingRun: 'stories' }, resources: { gpus: 1, cpu: '1', memory: '2Gi' } });
    const s = await waitReady('writer');
    expect(s.status!.modelUri).toBe(run.status.artifact.uri);
    expect(s.status!.url).toBe(`http://writer.${ns}.svc.cluster.local`);
    expect(s.status!.readyReplicas).toBe(1);
    const d = await deployment('writer');
    expect(env(d)).toMatchObject({ LATHE_MODEL_URI: run.status.artifact.uri, LATHE_TASK: 'text-generation' });
    expect(d.spec!.template.spec!.containers[0]!.resources!.limits!['nvidia.com/gpu']).toBe('1');
    const svc = await core.readNamespacedService({ name: 'writer', namespace: ns });
    expect(svc.spec!.ports![0]).toMatchObject({ port: 80, targetPort: 'http' });
    // The Service routes to the ready pod: its endpoints are filled by the real controllers.
    await waitFor('an endpoint for the Service', async () => {
      const slices = await kc.makeApiClient((await import('@kubernetes/client-node')).DiscoveryV1Api).listNamespacedEndpointSlice({ namespace: ns, labelSelector: 'kubernetes.io/service-name=writer' });
      return slices.items.some((sl) => (sl.endpoints ?? []).some((e) => e.conditions?.ready)) || undefined;
    });
    const row = kubectl(['get', 'inferenceservices', '-n', ns, 'writer']);
    expect(row.split('\n')[0]!.split(/\s{2,}/).map((x) => x.trim())).toEqual(['NAME', 'MODEL', 'READY', 'REPLICAS', 'URL', 'CANARY', 'AGE']);
  });

  it('waits for a TrainingRun that is still running, then serves it once it succeeds', async () => {
    const { finish } = await finishedRun('later', true);
    await createService('waiting', { model: { trainingRun: 'later' } });
    const waiting = await waitFor('ModelResolved=False', async () => {
      const s = await getService('waiting');
      return condition(s, 'ModelResolved')?.reason === 'WaitingForTrainingRun' ? s : undefined;
    });
    expect(condition(waiting, 'Ready')?.status).toBe('False');
    await expect(apps.readNamespacedDeployment({ name: 'waiting', namespace: ns })).rejects.toThrow();
    const uri = await finish();
    const ready = await waitReady('waiting');
    expect(ready.status!.modelUri).toBe(uri);
  });

  it('serves an S3 URI directly, and scales with kubectl scale when autoscaling is off', async () => {
    await createService('direct', { model: { uri: 's3://lathe-artifacts/models/external/v1/checkpoint/' } });
    await waitReady('direct');
    kubectl(['scale', 'inferenceservice/direct', '-n', ns, '--replicas=3']);
    await waitFor('3 ready replicas', async () => {
      const s = await getService('direct');
      return s.status?.readyReplicas === 3 && condition(s, 'Ready')?.status === 'True' ? s : undefined;
    });
    expect((await deployment('direct')).spec!.replicas).toBe(3);
    await expect(autoscaling.readNamespacedHorizontalPodAutoscaler({ name: 'direct', namespace: ns })).rejects.toThrow();
  });

  it('says when its pods cannot be created (no inference ServiceAccount), and serves once the account exists', async () => {
    const bare = await createNamespace(core, 'e2e-no-sa', { 'pod-security.kubernetes.io/enforce': 'restricted' });
    try {
      const ref = { ...api, namespace: bare, plural: 'inferenceservices' };
      await custom.createNamespacedCustomObject({
        ...ref,
        body: { apiVersion: 'lathe.dev/v1alpha1', kind: 'InferenceService', metadata: { name: 'no-sa' }, spec: { task: 'text-generation', replicas: { min: 1 }, model: { uri: 's3://lathe-artifacts/models/external/v1/checkpoint/' }, resources: { cpu: '100m', memory: '256Mi' } } },
      });
      const read = async () => (await custom.getNamespacedCustomObject({ ...ref, name: 'no-sa' })) as Isvc;
      const blocked = await waitFor('FailedCreate in the service\'s status', async () => {
        const s = await read();
        return condition(s, 'Ready')?.reason === 'FailedCreate' ? s : undefined;
      });
      expect(blocked.status!.message).toContain('Deployment no-sa cannot create pods');
      expect(blocked.status!.message).toContain('serviceaccount "lathe-inference" not found');
      expect(condition(blocked, 'Stalled')).toMatchObject({ status: 'True', reason: 'FailedCreate' });
      expect(condition(blocked, 'Reconciling')?.status).toBe('False');
      await waitFor('a FailedCreate Warning on the service', async () => {
        const events = await core.listNamespacedEvent({ namespace: bare, fieldSelector: 'involvedObject.kind=InferenceService,involvedObject.name=no-sa' });
        return events.items.find((e) => e.reason === 'FailedCreate' && e.type === 'Warning');
      });

      await core.createNamespacedServiceAccount({ namespace: bare, body: { metadata: { name: 'lathe-inference' } } });
      await waitFor('the service to be Ready once the ServiceAccount exists', async () => {
        const s = await read();
        return condition(s, 'Ready')?.status === 'True' ? s : undefined;
      }, 120_000);
    } finally {
      await deleteNamespace(core, bare);
    }
  });

  it('adds a HorizontalPodAutoscaler when replicas.max > replicas.min', async () => {
    await createService('scaled', { model: { uri: 'hf://BEE-spoke-data/smol_llama-101M-GQA' }, replicas: { min: 1, max: 4 } });
    const hpa = await waitFor('the HPA', () => autoscaling.readNamespacedHorizontalPodAutoscaler({ name: 'scaled', namespace: ns }));
    expect(hpa.spec).toMatchObject({ minReplicas: 1, maxReplicas: 4, scaleTargetRef: { kind: 'Deployment', name: 'scaled' } });
    expect(hpa.spec!.metrics![0]).toMatchObject({ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization' } } });
  });

  it('rolls back a model change whose pods never become ready, and says so', async () => {
    await createService('rollback', { model: { uri: 's3://lathe-artifacts/models/good/v1/checkpoint/' }, progressDeadlineSeconds: 3 });
    await waitReady('rollback');
    const good = 's3://lathe-artifacts/models/good/v1/checkpoint/';
    const serving = await watchServingPods('rollback', good);
    await waitFor('the watch to see the serving pod', () => serving.samples.at(-1) === 1);
    // The new model never loads: its pods run but never turn Ready (kwok's sim.lathe.dev/ready=false).
    kubectl(['patch', 'inferenceservice', 'rollback', '-n', ns, '--type=merge', '-p',
      JSON.stringify({ spec: { model: { uri: 's3://lathe-artifacts/models/bad/v2/checkpoint/' }, podMetadata: { annotations: { 'sim.lathe.dev/ready': 'false' } } } })]);
    const rolled = await waitFor('RolledBack=True', async () => {
      const s = await getService('rollback');
      return condition(s, 'RolledBack')?.status === 'True' ? s : undefined;
    }, 120_000);
    expect(rolled.status!.servingModelUri).toBe('s3://lathe-artifacts/models/good/v1/checkpoint/');
    expect(condition(rolled, 'Ready')).toMatchObject({ status: 'False', reason: 'RolledBack' });
    expect(condition(rolled, 'RolledBack')!.message).toContain('s3://lathe-artifacts/models/bad/v2/checkpoint/');
    const d = await waitFor('the Deployment back on the good model', async () => {
      const dep = await deployment('rollback');
      return env(dep).LATHE_MODEL_URI === 's3://lathe-artifacts/models/good/v1/checkpoint/' ? dep : undefined;
    });
    expect(d.spec!.template.metadata!.annotations!['lathe.dev/model-uri']).toBe('s3://lathe-artifacts/models/good/v1/checkpoint/');
    // The serving version is ready again once the rollout is back on it...
    await waitFor('the old model ready again', async () => {
      const dep = await deployment('rollback');
      return (dep.status?.readyReplicas ?? 0) >= 1 && dep.status?.updatedReplicas === dep.status?.replicas ? dep : undefined;
    });
    // ... and it stayed up the whole time (maxUnavailable 0): every pod event from before the
    // patch until now left at least one Ready pod of the good model, while the bad pods came and went.
    const samples = await serving.stop();
    expect([...serving.otherModels], 'the watch saw the bad model\'s pods').toContain('s3://lathe-artifacts/models/bad/v2/checkpoint/');
    expect(Math.min(...samples), `Ready pods of ${good} after each pod event: ${samples.join(' ')}`).toBeGreaterThanOrEqual(1);
    const events = await core.listNamespacedEvent({ namespace: ns, fieldSelector: 'involvedObject.name=rollback' });
    expect(events.items.some((e) => e.reason === 'RolledBack' && e.type === 'Warning')).toBe(true);
  });

  it('removes its children when deleted', async () => {
    await createService('ephemeral', { model: { uri: 'hf://BEE-spoke-data/smol_llama-101M-GQA' }, replicas: { min: 1, max: 2 } });
    await waitReady('ephemeral');
    await custom.deleteNamespacedCustomObject({ ...api, namespace: ns, plural: 'inferenceservices', name: 'ephemeral' });
    await waitFor('children garbage-collected', async () => {
      const gone = await Promise.all([
        apps.readNamespacedDeployment({ name: 'ephemeral', namespace: ns }).then(() => false, () => true),
        core.readNamespacedService({ name: 'ephemeral', namespace: ns }).then(() => false, () => true),
        autoscaling.readNamespacedHorizontalPodAutoscaler({ name: 'ephemeral', namespace: ns }).then(() => false, () => true),
      ]);
      return gone.every(Boolean) || undefined;
    });
  });
});
