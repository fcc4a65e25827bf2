// The operator installed as a platform team installs it: `helm install` of charts/lathe with the
// operator image `make images` built, two replicas with leader election on the real node, under the
// chart's own RBAC, its probes and /metrics served, and a TrainingRun reconciled by the in-cluster
// leader to Succeeded. Then the leader is deleted and the standby takes the Lease over.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { CoordinationV1Api, CustomObjectsApi, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clients, deleteNamespace, ensureCrds, repoRoot, suffix, trainingRunManifest, waitFor } from '../e2e/support.js';
import { describePod, imageRef, ON_REAL_NODE, REAL_NODE, requireRealNode, restrictedNamespace, S3_SECRET, seedTinyModel, withPortForward, type Seed } from './support.js';

const { kc, core } = clients();
const custom = kc.makeApiClient(CustomObjectsApi);
const leases = kc.makeApiClient(CoordinationV1Api);
const release = `lathe-${suffix()}`;
const system = `${release}-system`;
let training = '';
let seed: Seed;
let installed = false;

const helm = (args: string[]) => execFileSync('helm', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** `lathe.local/lathe-operator:local` as the chart's registry / repository / tag. */
function imageValues(image: 'operator' | 'trainer' | 'inference') {
  const m = /^(.+)\/([^/:]+):(.+)$/.exec(imageRef(image));
  if (!m) throw new Error(`unexpected image ref ${imageRef(image)}`);
  return { registry: m[1]!, repository: m[2]!, tag: m[3]! };
}

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
  // The operator's own S3 access (progress, metadata, run records): on EKS its IRSA role; here the
  // local server's keys from a Secret, through the chart's extraEnv.
  const s3Env = (name: string) => ({ name, valueFrom: { secretKeyRef: { name: S3_SECRET, key: name } } });
  const op = imageValues('operator');
  const values = {
    image: { ...op, pullPolicy: 'IfNotPresent' },
    trainer: { image: imageValues('trainer') },
    inference: { image: imageValues('inference') },
    aws: { region: process.env.AWS_REGION, podS3Endpoint: process.env.LATHE_POD_S3_ENDPOINT, podEnvSecret: S3_SECRET },
    trainingNamespaces: [training],
    operator: {
      replicas: 2,
      progressPollMs: 1000,
      nodeSelector: ON_REAL_NODE.nodeSelector,
      tolerations: ON_REAL_NODE.tolerations,
      extraEnv: [{ name: 'AWS_ENDPOINT_URL_S3', value: process.env.LATHE_POD_S3_ENDPOINT }, s3Env('AWS_ACCESS_KEY_ID'), s3Env('AWS_SECRET_ACCESS_KEY')],
    },
  };
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'lathe-helm-')), 'values.json');
  writeFileSync(file, JSON.stringify(values));
  await core.createNamespace({ body: { metadata: { name: system, labels: { 'lathe.dev/e2e': 'true', 'pod-security.kubernetes.io/enforce': 'restricted' } } } });
  await core.createNamespacedSecret({
    namespace: system,
    body: { metadata: { name: S3_SECRET }, stringData: { AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID!, AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY! } },
  });
  try {
    helm(['install', release, path.join(repoRoot, 'charts/lathe'), '-n', system, '-f', file, '--wait', '--timeout', '180s']);
    installed = true;
  } catch (err) {
    const pods = (await operatorPods()).map(describePod).join('\n');
    throw new Error(`helm install failed: ${(err as { stderr?: string }).stderr ?? String(err)}\npods:\n${pods}`, { cause: err });
  }
});

afterAll(async () => {
  if (installed) helm(['uninstall', release, '-n', system, '--wait', '--timeout', '60s']);
  await deleteNamespace(core, system);
  if (training) await deleteNamespace(core, training);
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
    const run = trainingRunManifest('via-helm', {
      model: seed.model,
      dataset: { uri: seed.dataset },
      hyperparameters: { epochs: 1, batchSize: 8, learningRate: 0.01, maxSeqLength: 16 },
      resources: { gpus: 0, cpu: '500m', memory: '3Gi' },
      ...ON_REAL_NODE,
    });
    await custom.createNamespacedCustomObject({ group: 'lathe.dev', version: 'v1alpha1', namespace: training, plural: 'trainingruns', body: run });
    await waitFor('via-helm to be Succeeded', async () => {
      const r = (await custom.getNamespacedCustomObject({ group: 'lathe.dev', version: 'v1alpha1', namespace: training, plural: 'trainingruns', name: 'via-helm' })) as { status?: { phase?: string; message?: string } };
      if (r.status?.phase === 'Failed') throw new Error(`Failed: ${r.status.message}`);
      return r.status?.phase === 'Succeeded';
    }, 240_000, 1000);

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
