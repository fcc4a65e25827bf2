// A real Kueue (hack/tools.sh builds v0.19.2 from Go modules) run out of cluster against the local
// control plane, as the Kueue suite needs it, and the queue set-up a platform team would make: a
// ResourceFlavor on the GPU node pool, a ClusterQueue with 4 GPUs that preempts lower priorities,
// WorkloadPriorityClasses, and a LocalQueue per test namespace.
//
// What running it out of cluster takes (v0.19.2): internal certificate management off, so the
// metrics server reads its certificate from the fixed path /etc/kueue/metrics/certs (made here and
// removed on stop) and the webhook server from a certDir of our own; the VisibilityOnDemand gate
// off (it serves an aggregated API the local API server cannot reach). Kueue's webhooks are served
// but not registered with the API server: Lathe creates queued Jobs suspended itself, which is all
// the Job webhook would add, and a webhook outage then cannot block the other suites' Jobs.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { kubectl, waitFor } from './cluster.js';
import { freePort, spawnLogged } from './process.js';
import { crdsEstablished, selfSignedCert, tool } from './out-of-cluster.js';
const METRICS_CERTS = '/etc/kueue/metrics/certs';

/** The ResourceFlavor: Kueue puts its node labels on the pods it admits. */
export const FLAVOR = 'lathe-pool';
export const CLUSTER_QUEUE = 'lathe-gpu';
export const GPU_QUOTA = 4;
export const PRIORITIES = { high: 1000, low: 100 } as const;

export interface KueueProcess {
  readonly logs: string[];
  stop(): Promise<void>;
}

/** Installs Kueue's CRDs (the same release as the binary) and starts the controller; resolves when it is healthy. */
export async function startKueue(): Promise<KueueProcess> {
  kubectl(['apply', '--server-side', '--force-conflicts', '-f', tool('kueue-crds')]);
  await crdsEstablished(['workloads', 'clusterqueues', 'localqueues', 'resourceflavors', 'workloadpriorityclasses'].map((c) => `${c}.kueue.x-k8s.io`));
  const madeEtc = !existsSync('/etc/kueue');
  selfSignedCert(METRICS_CERTS);
  const dir = mkdtempSync(path.join(tmpdir(), 'lathe-kueue-'));
  selfSignedCert(path.join(dir, 'webhook'));
  const [health, metrics, webhook] = [await freePort(), await freePort(), await freePort()];
  const config = {
    apiVersion: 'config.kueue.x-k8s.io/v1beta2',
    kind: 'Configuration',
    health: { healthProbeBindAddress: `127.0.0.1:${health}` },
    metrics: { bindAddress: `127.0.0.1:${metrics}` },
    webhook: { port: webhook, host: '127.0.0.1', certDir: path.join(dir, 'webhook') },
    leaderElection: { leaderElect: false },
    internalCertManagement: { enable: false },
    featureGates: { VisibilityOnDemand: false },
    integrations: { frameworks: ['batch/job'] },
  };
  writeFileSync(path.join(dir, 'config.yaml'), JSON.stringify(config));
  const { child, logs, terminate } = spawnLogged(tool('kueue'), [`--config=${path.join(dir, 'config.yaml')}`, '--zap-log-level=2'], { env: { ...process.env } }, 3000);
  const stop = async () => {
    await terminate();
    rmSync(dir, { recursive: true, force: true });
    rmSync(madeEtc ? '/etc/kueue' : METRICS_CERTS, { recursive: true, force: true });
    // The cluster as found: the later suites (and the chart's kueue.enabled=auto) see no Kueue.
    kubectl(['delete', '-f', tool('kueue-crds'), '--ignore-not-found', '--timeout=120s']);
  };
  try {
    await waitFor('Kueue to be healthy', async () => {
      if (child.exitCode !== null) throw new Error(`kueue exited with ${child.exitCode}:\n${logs.slice(-30).join('\n')}`);
      try {
        return (await fetch(`http://127.0.0.1:${health}/readyz`)).ok || undefined;
      } catch {
        return undefined;
      }
    }, 60_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { logs, stop };
}

/**
 * The cluster-wide queue set-up: one flavor on a node pool (the simulated GPU pool by default; the
 * real node's `local` pool for the real-pods suite), a ClusterQueue with 4 GPUs, two priorities.
 */
export function applyClusterQueue(nodePool = 'gpu'): void {
  const objects = [
    { apiVersion: 'kueue.x-k8s.io/v1beta2', kind: 'ResourceFlavor', metadata: { name: FLAVOR }, spec: { nodeLabels: { 'lathe.dev/node-pool': nodePool } } },
    {
      apiVersion: 'kueue.x-k8s.io/v1beta2',
      kind: 'ClusterQueue',
      metadata: { name: CLUSTER_QUEUE },
      spec: {
        namespaceSelector: {},
        preemption: { withinClusterQueue: 'LowerPriority' },
        resourceGroups: [
          {
            coveredResources: ['cpu', 'memory', 'nvidia.com/gpu'],
            flavors: [{ name: FLAVOR, resources: [{ name: 'cpu', nominalQuota: '64' }, { name: 'memory', nominalQuota: '256Gi' }, { name: 'nvidia.com/gpu', nominalQuota: GPU_QUOTA }] }],
          },
        ],
      },
    },
    ...Object.entries(PRIORITIES).map(([name, value]) => ({ apiVersion: 'kueue.x-k8s.io/v1beta2', kind: 'WorkloadPriorityClass', metadata: { name }, value })),
  ];
  kubectl(['apply', '-f', '-'], objects.map((o) => JSON.stringify(o)).join('\n'));
}

export function applyLocalQueue(namespace: string, name: string): void {
  const lq = { apiVersion: 'kueue.x-k8s.io/v1beta2', kind: 'LocalQueue', metadata: { name, namespace }, spec: { clusterQueue: CLUSTER_QUEUE } };
  kubectl(['apply', '-f', '-'], JSON.stringify(lq));
}

/**
 * Deletes the queue set-up while Kueue still runs: its objects carry Kueue's finalizers, which only
 * a running Kueue removes (a CRD whose objects keep finalizers never finishes deleting).
 */
export function deleteQueues(namespace?: string): void {
  if (namespace) kubectl(['delete', 'localqueues', '--all', '-n', namespace, '--ignore-not-found', '--timeout=60s']);
  kubectl(['delete', 'clusterqueue', CLUSTER_QUEUE, '--ignore-not-found', '--timeout=60s']);
  kubectl(['delete', 'resourceflavor', FLAVOR, '--ignore-not-found', '--timeout=60s']);
  kubectl(['delete', 'workloadpriorityclass', ...Object.keys(PRIORITIES), '--ignore-not-found', '--timeout=60s']);
}
