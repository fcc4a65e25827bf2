// The operator installed as a platform team installs it (hack/operator-install.sh: `helm install`
// of charts/lathe with the operator image `make images` built), two replicas with leader election
// on the real node, under the chart's own RBAC, its probes and /metrics served, and a TrainingRun
// reconciled by the in-cluster leader to Succeeded. Then the leader is deleted and the standby
// takes the Lease over.
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';
import { CoordinationV1Api, CustomObjectsApi, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clients, ensureCrds, repoRoot, suffix, waitFor } from '../support/cluster.js';
import { deleteNamespaceAndWait, describePod, ON_REAL_NODE, REAL_NODE, requireRealNode, restrictedNamespace, seedTinyModel, withPortForward, type Seed } from '../support/real-node.js';
import { makeTrainingRun } from '../support/builders.js';

const { kc, core } = clients();
const custom = kc.makeApiClient(CustomObjectsApi);
const leases = kc.makeApiClient(CoordinationV1Api);
const release = `lathe-${suffix()}`;
const system = `${release}-system`;
let training = '';
let seed: Seed;
let installed = false;

async function operatorPods(): Promise<V1Pod[]> {
  return (await core.listNamespacedPod({ namespace: system, labelSelector: 'app.kubernetes.io/component=operator' })).items;
}

async function holder(): Promise<string | undefined> {
  const lease = await leases.readNamespacedLease({ name: `${release}-operator`, namespace: system });
  return lease.spec?.holderIdentity ?? undefined;
}

beforeAll(async () => {
  await requireRealNode(core);
  ensureCrds();
  training = await restrictedNamespace(core, 'helm', []);
  seed = seedTinyModel(`real/${training}`);
  try {
    execFileSync(path.join(repoRoot, 'hack/operator-install.sh'), [release, system, training], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    installed = true;
  } catch (err) {
    const pods = (await operatorPods().catch(() => [])).map(describePod).join('\n');
    throw new Error(`hack/operator-install.sh failed: ${(err as { stderr?: string }).stderr ?? String(err)}\npods:\n${pods}`, { cause: err });
  }
});

afterAll(async () => {
  if (installed) execFileSync(path.join(repoRoot, 'hack/operator-install.sh'), ['--uninstall', release, system], { stdio: 'ignore' });
  await deleteNamespaceAndWait(core, system);
  if (training) await deleteNamespaceAndWait(core, training);
});

describe('the operator installed with Helm, on the real node', () => {
  it('runs two ready replicas under the chart’s RBAC, one of them holding the Lease', async () => {
    const pods = await operatorPods();
    expect(pods.map((p) => p.spec?.nodeName)).toEqual([REAL_NODE, REAL_NODE]);
    // Readiness is the chart's probe on /readyz: both replicas (the standby too) are Ready.
    for (const p of pods) expect(p.status?.conditions?.find((c) => c.type === 'Ready')?.status, describePod(p)).toBe('True');
    expect(pods.every((p) => p.spec?.serviceAccountName === 'lathe-operator')).toBe(true);
    const leader = await waitFor('a leader', holder);
    expect(pods.map((p) => p.metadata?.name)).toContain(leader);
  });

  it('serves /metrics through its metrics Service', async () => {
    const text = await withPortForward(system, `service/${release}-operator-metrics`, 8080, async (port) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
    expect(text).toMatch(/^workqueue_depth\{/m);
  });

  it('reconciles a TrainingRun in a real pod to Succeeded, and the standby takes over when the leader is deleted', async () => {
    const run = makeTrainingRun('via-helm')
      .model(seed.model)
      .dataset(seed.dataset)
      .hyperparameters({ epochs: 1, batchSize: 8, learningRate: 0.01, maxSeqLength: 16 })
      .resources({ gpus: 0, cpu: '500m', memory: '3Gi' })
      .spec(ON_REAL_NODE)
      .manifest();
    await custom.createNamespacedCustomObject({ group: 'lathe.dev', version: 'v1alpha1', namespace: training, plural: 'trainingruns', body: run });
    // waitFor retries a check that throws, so the end is returned and judged after the wait.
    const done = await waitFor('via-helm to finish', async () => {
      const r = (await custom.getNamespacedCustomObject({ group: 'lathe.dev', version: 'v1alpha1', namespace: training, plural: 'trainingruns', name: 'via-helm' })) as { status?: { phase?: string; message?: string } };
      return r.status?.phase === 'Succeeded' || r.status?.phase === 'Failed' ? r.status : undefined;
    }, 240_000, 1000);
    expect(done.phase, done.message).toBe('Succeeded');

    const leader = (await holder())!;
    const t0 = Date.now();
    await core.deleteNamespacedPod({ name: leader, namespace: system });
    const next = await waitFor('another replica to take the Lease', async () => {
      const h = await holder();
      return h && h !== leader ? h : undefined;
    }, 60_000, 500);
    process.stdout.write(`[helm] leader ${leader} deleted; ${next} leads after ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
    expect((await operatorPods()).map((p) => p.metadata?.name)).toContain(next);
  });
});
